#!/usr/bin/env bash
# The main job: sets up .venv with the runtime only (locks/runtime.txt), then `riskrank demo` (small world, features, train, register, serve).
# Extra arguments go to `riskrank demo`, e.g. `bash scripts/demo.sh --no-serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
exec .venv/bin/riskrank demo "$@"
