#!/usr/bin/env bash
# Creates .venv (Python 3.11+) and installs the pinned environment from requirements.lock, then riskrank itself
# (editable, no dependency resolution of its own). Safe to run again. scripts/lock.sh regenerates the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .
