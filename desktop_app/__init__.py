"""Clearance Desk: agency review of frontier AI model submissions.

`APP_ID` and `__version__` are read by `--version`, the About box and `build.spec`.
"""

APP_ID = "gov.clearance-desk.ClearanceDesk"
APP_NAME = "Clearance Desk"
__version__ = "0.1.0"
