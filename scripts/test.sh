#!/usr/bin/env bash
# Runs the whole test suite on a fresh or prepared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
