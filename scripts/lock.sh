#!/usr/bin/env bash
# Regenerates the locks in locks/ from pyproject.toml with uv (installed into a throw-away venv), each pin with
# the sha256 of every file PyPI has for it, so that `pip install --require-hashes` (scripts/setup.sh) installs
# exactly those files:
#   locks/dev.txt      riskrank[dev]: runtime, every extra (dask, postgres, spark, train) and the test tools
#   locks/runtime.txt  riskrank's runtime dependencies only, constrained to dev.txt's pins so the two agree
# For CPython 3.11 on x86-64 Linux, wherever this runs. Run it after changing dependencies in pyproject.toml and
# commit locks/. Existing pins are kept where pyproject.toml allows them; `bash scripts/lock.sh --upgrade` moves
# every pin to the newest release allowed (`--upgrade-package NAME` one of them).
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q "uv==$UV_VERSION"
compile() {
  "$tmp/venv/bin/uv" pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
    --python-platform x86_64-unknown-linux-gnu --custom-compile-command "bash scripts/lock.sh" "$@"
}
mkdir -p locks
compile --extra dev -o locks/dev.txt "$@"
compile -c locks/dev.txt -o locks/runtime.txt "$@"
for lock in locks/dev.txt locks/runtime.txt; do
  echo "$lock: $(grep -c '^[A-Za-z0-9]' "$lock") packages pinned"
done
