#!/usr/bin/env bash
# Sets up a fresh machine for QA-MoE Live: system packages (when root), a virtual environment in
# .venv with the CPU build of torch, and the project with its test extras. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES="espeak-ng ffmpeg tmux libportaudio2"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  for p in $SYSTEM_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "installing system packages:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# torch first and pinned: a plain "torch" requirement would pull a multi-GB CUDA build
.venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[test,media]"
