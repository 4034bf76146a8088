#!/usr/bin/env bash
# Install Clearance Desk into .venv (Python 3.12+) and open it on a ready demo data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/python312.sh)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check . 2>&1 | grep -v "is ignored" || true
exec .venv/bin/clearance-desk --demo "$@"
