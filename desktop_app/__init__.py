"""Clearance Desk: agency review of frontier AI model submissions.

`APP_ID` and `__version__` are read by `--version`, the About box and `build.spec`.
"""

import warnings

APP_ID = "gov.clearance-desk.ClearanceDesk"
APP_NAME = "Clearance Desk"
__version__ = "0.1.0"

# pyHanko imports cryptography's DSA key class, which cryptography 51 deprecates with a
# warning printed on every command-line run that touches a letter. The agency's keys are
# RSA (letters/pki), so this one warning says nothing to a reviewer; any other still shows.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko\.")
