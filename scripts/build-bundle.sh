#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle into dist/clearance-desk-<version>/ and smoke-run it.
#
# Uses $PYTHON if set (an environment with the application and PyInstaller installed),
# else .venv, which it creates with the bundle extra. Prints the bundle's size and the
# build time. Offline use: see docs/deployment.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
else
  BASE=$(bash scripts/python312.sh)
  [ -x .venv/bin/python ] || "$BASE" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check ".[bundle]" 2>&1 | grep -v "is ignored" || true
  PY=.venv/bin/python
fi

DIST=${DIST:-$ROOT/dist}
WORK=${WORK:-$ROOT/build/pyinstaller}
started=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$DIST" --workpath "$WORK" build.spec
elapsed=$(( $(date +%s) - started ))

VERSION=$("$PY" -c 'import desktop_app; print(desktop_app.__version__)')
BUNDLE="$DIST/clearance-desk-$VERSION"
"$BUNDLE/clearance-desk" --version
echo "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1), built in ${elapsed} s)"
