#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (rasa 3.6.21 needs >=3.8,<3.11):
# python3.10 on PATH first, then pyenv's installs. Exit 1 with advice if none.
set -u
for candidate in python3.10 "$HOME"/.pyenv/versions/3.10.*/bin/python3.10; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
    command -v "$candidate"
    exit 0
  fi
done
cat >&2 <<'MSG'
error: Python 3.10 with the venv module is required (rasa 3.6.21 supports Python < 3.11).
Install it, then run make again, for example:
  pyenv install 3.10            (with pyenv)
  apt-get install python3.10 python3.10-venv   (Debian/Ubuntu with 3.10 packages)
  brew install python@3.10      (macOS)
MSG
exit 1
