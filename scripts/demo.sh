#!/usr/bin/env bash
# The main job on the embedded default: trains QA-MoE on the built-in simulator into runs/default.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/qamoe-train "$@"
