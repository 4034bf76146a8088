#!/usr/bin/env bash
# Print the path of a Python 3.12+ interpreter (PySide6 6.12 on 3.11 aborts after ~5,000
# Qt calls that return None; 3.12+ is fine).
for candidate in python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python3.12 \
                 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12 \
                 /root/.pyenv/versions/3.13*/bin/python3.13 python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
echo "no Python 3.12 or newer found" >&2
exit 1
