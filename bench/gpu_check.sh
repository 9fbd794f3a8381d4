#!/usr/bin/env bash
# The GPU check (`make gpu-check`), kept for old habits: bench/gpu_run.py does the work.
#   bench/gpu_check.sh [PYTHON] [OUT_DIR]     (defaults: python3, results/gpu)
# PYTHON is the machine's own interpreter with a CUDA torch (no venv needed); the checkout
# goes on PYTHONPATH. See `python3 bench/gpu_run.py --help` for the stages and the files.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${1:-python3}" bench/gpu_run.py "${2:-results/gpu}"
