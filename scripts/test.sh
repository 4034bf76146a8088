#!/usr/bin/env bash
# The README's test command: everything the whole suite needs, then the suite.
#
# 1. the Debian packages the tests use (installed when run as root with apt; otherwise the
#    one apt-get line to run is printed and the script exits 2);
# 2. the test extra in .venv (Python 3.12+);
# 3. a throw-away PostgreSQL cluster for the tests that run on both backends, started here
#    and removed when the run ends (unless CLEARANCE_DESK_TEST_PG_URL already names one);
# 4. pytest, with any arguments given to this script.
set -euo pipefail
cd "$(dirname "$0")/.."

QT_WINDOW_LIBRARIES=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-xkb1
                     libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3
                     fonts-dejavu-core xvfb)
# pdftotext/pdftoppm/pdfsig, certutil/crlutil, the PKCS#11 token, QR decoding, the no-network
# trace, PyInstaller's binutils, the second database backend.
SUITE_TOOLS=(poppler-utils libnss3-tools softhsm2 opensc zbar-tools strace binutils postgresql)
bash scripts/debian-packages.sh "the test suite" "${SUITE_TOOLS[@]}" "${QT_WINDOW_LIBRARIES[@]}"

PY=$(bash scripts/python312.sh)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --disable-pip-version-check ".[test]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip check >/dev/null

if [ -z "${CLEARANCE_DESK_TEST_PG_URL:-}" ]; then
  CLEARANCE_DESK_TEST_PG_URL=$(bash scripts/pg-test-cluster.sh start)
  export CLEARANCE_DESK_TEST_PG_URL
  trap 'bash scripts/pg-test-cluster.sh stop' EXIT
fi

.venv/bin/python -m pytest "$@"
