#!/usr/bin/env bash
# Install size and time of one set-up: clones this repository at REF into a temp folder and times
# `bash scripts/setup.sh ARGS...` there (a fresh .venv, pip's cache as it is), then reports the venv's
# site-packages size, the package count and which of the heavy or test-only packages it holds.
#   bash bench/bench_install.sh fd2737b            # before issue 25: requirements.lock, everything
#   bash bench/bench_install.sh HEAD runtime       # locks/runtime.txt
#   bash bench/bench_install.sh HEAD dev           # locks/dev.txt
set -euo pipefail
ref=${1:?usage: bench_install.sh REF [setup.sh arguments]}
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/clone"
git -C "$tmp/clone" checkout -q "$ref"
cd "$tmp/clone"
echo "ref $(git rev-parse --short HEAD), setup.sh $*; pip cache $(du -sh "$(pip cache dir)" | cut -f1); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
TIMEFORMAT="wall %R s, cpu %U s user + %S s sys"
time bash scripts/setup.sh "$@" > "$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; exit 1; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "site-packages: $(du -sm .venv/lib/python3.11/site-packages | cut -f1) MiB," \
  "$(.venv/bin/python -m pip list --format=freeze 2>/dev/null | grep -vc '^riskrank') packages"
heavy=$(.venv/bin/python -m pip list --format=freeze 2>/dev/null | cut -d= -f1 | tr 'A-Z_' 'a-z-' \
  | grep -xE 'pyspark|playwright|pytest|schemathesis|hypothesis|ruff|mypy|shap|numba|llvmlite|dask|distributed|httpx|fairlearn|psycopg' \
  | tr '\n' ' ' || true)
echo "heavy or test-only packages present: ${heavy:-none}"
