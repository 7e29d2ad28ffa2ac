#!/usr/bin/env bash
# The main job on the embedded default: the live pipeline on its simulated scene (q quits).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/qamoe-live --demo "$@"
