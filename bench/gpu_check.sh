#!/usr/bin/env bash
# The GPU check (`make gpu-check`): one prepared run on a machine with an NVIDIA GPU.
#   1. the CUDA tests (tests marked `cuda`: GPU params equal the CPU twin's after k steps)
#   2. the quick sweep with the CUDA backends included (torch-cuda, torch-cuda-tf32)
#   3. the report of that run
# Everything lands in one folder (default results/gpu/); commit gpu-quick.json: it carries
# the card's name, driver and calibration, and is how the report shows real GPU numbers.
# Usage: bench/gpu_check.sh PYTHON OUT_DIR      (about 5 minutes on one H100-class card)
set -uo pipefail
PY=${1:?python}; OUT=${2:?output folder}
"$PY" -c "import sys, torch; torch.cuda.is_available() or sys.exit('gpu-check: torch ' + torch.__version__ + ' sees no CUDA device; on a GPU machine install a CUDA build (make TORCH_SPEC=...)')" || exit 2
mkdir -p "$OUT"
"$PY" -c "import json, torch; p = torch.cuda.get_device_properties(0); print(json.dumps({'gpu': p.name, 'torch': torch.__version__, 'cuda': torch.version.cuda}))" | tee "$OUT/device.json"
status=0
"$PY" -m pytest tests -m cuda -ra -q 2>&1 | tee "$OUT/cuda-tests.txt" || status=1
"$PY" -m pytest --benchmark-only --profile quick --benchmark-columns=median,iqr,rounds \
    --benchmark-json="$OUT/gpu-quick.json" 2>&1 | tee "$OUT/bench.txt" || status=1
"$PY" -m reports "$OUT/gpu-quick.json" --out "$OUT/report" || status=1
echo "gpu-check: results in $OUT (exit $status)"
exit $status
