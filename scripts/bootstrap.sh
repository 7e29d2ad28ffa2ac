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
# What was installed is stamped with the hash of the files that decide it: a rerun with nothing
# changed skips pip (it took ~10 s and printed setuptools' packaging chatter every time).
stamp=".venv/.qamoe-bootstrap"
wanted="$(cat pyproject.toml setup.py scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ] && .venv/bin/python -c "import qamoe" 2>/dev/null; then
  exit 0
fi
echo "installing the project into .venv (once; later runs skip this while pyproject.toml and setup.py stay the same)"
# torch first and pinned: a plain "torch" requirement would pull a multi-GB CUDA build
log=.venv/pip-install.log
{ .venv/bin/pip install -q "torch==2.13.0" && .venv/bin/pip install -q -e ".[test,media]"; } > "$log" 2>&1 \
  || { cat "$log"; echo "bootstrap: pip failed (the log above, also in $log)" >&2; exit 1; }
echo "$wanted" > "$stamp"
