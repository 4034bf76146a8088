#!/usr/bin/env bash
# Install Clearance Desk into .venv (Python 3.12+) and open it on a ready demo data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
# Qt's xcb platform plugin needs these to open a real window (installed when run as root).
bash scripts/debian-packages.sh "the application's window" libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
  libxcb-image0 libxcb-render-util0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-randr0 libxcb-shape0 libegl1 libgl1 \
  libfontconfig1 libdbus-1-3 fonts-dejavu-core
PY=$(bash scripts/python312.sh)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check . 2>&1 | grep -v "is ignored" || true
exec .venv/bin/clearance-desk --demo "$@"
