#!/usr/bin/env bash
# Install the test extra into .venv (Python 3.12+) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/python312.sh)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --disable-pip-version-check ".[test]" 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip check >/dev/null
exec .venv/bin/python -m pytest "$@"
