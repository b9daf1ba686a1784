#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs one pinned, hash-checked lock from locks/, then riskrank itself
# (editable, no dependency resolution of its own). Safe to run again.
#   bash scripts/setup.sh           locks/runtime.txt: scoring, serving, the CLI and `riskrank demo` (scripts/demo.sh)
#   bash scripts/setup.sh dev       locks/dev.txt: runtime + every extra + the test tools (scripts/test.sh, .ci/run)
# The two locks agree on every package they share, so either can be installed over the other. Both are made by
# scripts/lock.sh for CPython 3.11 on x86-64 Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
lock="locks/${1:-runtime}.txt"
if [ ! -f "$lock" ]; then
  echo "setup.sh: no lock $lock (choose runtime or dev)" >&2
  exit 2
fi
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q --require-hashes -r "$lock"  # every file checked against the lock's sha256
.venv/bin/python -m pip install -q --no-deps -e .
