#!/usr/bin/env bash
# The separate venv bench/bench_yardsticks.py runs FairGBM in (bench/yardstick_fairgbm.py): fairgbm bundles its own
# lib_lightgbm (a LightGBM 3 fork), kept apart from the project's LightGBM 4, and is a measuring instrument, not a
# dependency of riskrank (nor of its dev extra). fairgbm 0.9.14 builds from its sdist (needs cmake and a C++
# compiler) and its scikit-learn wrapper needs scikit-learn < 1.6. fairlearn, the other yardstick, is already in
# the dev extra. Usage: bash bench/yardstick_venv.sh [/tmp/yard-venv]
set -euo pipefail
VENV=${1:-/tmp/yard-venv}
PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q "fairgbm==0.9.14" "scikit-learn<1.6" "numpy<2"
"$VENV/bin/python" -c "import fairgbm; print('fairgbm', fairgbm.__version__, 'in $VENV')"
