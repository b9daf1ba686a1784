#!/usr/bin/env bash
# Regenerates requirements.lock: installs riskrank with every extra into a fresh, throw-away venv and pins
# what pip resolved (`pip freeze`, without riskrank itself). Run it after changing dependencies in
# pyproject.toml, then commit requirements.lock. scripts/setup.sh installs exactly what it lists.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q -e '.[dev,postgres]'  # editable: builds nothing in the tree
{
  echo "# Pins the whole environment of riskrank with all extras (python $("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version())')). Made by scripts/lock.sh; do not edit."
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -viE '^riskrank( |=|@)'
} > requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) packages pinned"
