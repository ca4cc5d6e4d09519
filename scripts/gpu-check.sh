#!/usr/bin/env bash
# The GPU check in one command (issue 15): builds tests/gpu/gpu_check.cpp with the DiT, samplers and
# guidance against the LibTorch of the pip PyTorch on this machine, then runs the fp32 parity with the
# official code's fixtures on the GPU and the sampling benchmark (DiT-XL/2 256 px, 8 images, 50 DDIM
# steps, cfg 4) in fp16 and bf16.
#
#   scripts/gpu-check.sh [BUILD_DIR]        (default build/gpu-check)
#
# Needs: cmake, a C++17 compiler, python3 with torch (CUDA build), nlohmann/json.hpp (Debian's
# nlohmann-json3-dev, or NLOHMANN_JSON_INCLUDE_DIR=DIR, or a copy under build/gpu-deps/include made by
# `scripts/gpu-check.sh --prepare` on a machine that has it, for a GPU machine without it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS="$ROOT/build/gpu-deps/include"

if [[ "${1:-}" == "--prepare" ]]; then
    mkdir -p "$DEPS"
    cp -r /usr/include/nlohmann "$DEPS/"
    echo "copied nlohmann/json into $DEPS (carry build/gpu-deps to the GPU machine)"
    exit 0
fi

BUILD=${1:-$ROOT/build/gpu-check}
PY=${PYTHON:-python3}
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
    echo "gpu-check: no PyTorch for $PY (pip install torch, or set PYTHON)" >&2
    exit 1
}
"$PY" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda,
      "GPU", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")'
JSON_DIR=${NLOHMANN_JSON_INCLUDE_DIR:-}
if [[ -z "$JSON_DIR" ]]; then
    for d in /usr/include /usr/local/include "$DEPS"; do
        [[ -f "$d/nlohmann/json.hpp" ]] && JSON_DIR=$d && break
    done
fi
[[ -n "$JSON_DIR" ]] || {
    echo "gpu-check: nlohmann/json.hpp not found (set NLOHMANN_JSON_INCLUDE_DIR, or run --prepare elsewhere)" >&2
    exit 1
}
JOBS=$(nproc 2>/dev/null || echo 4)
cmake -S "$ROOT/scripts/gpu-check" -B "$BUILD" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
      -DNLOHMANN_JSON_INCLUDE_DIR="$JSON_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$JOBS"

DEVICE=${DEVICE:-cuda}
STATUS=0
for dtype in fp16 bf16; do
    "$BUILD/ditstudio_gpu_check" --data "$ROOT/tests/data/parity" --device "$DEVICE" --dtype "$dtype" || STATUS=1
done
exit $STATUS
