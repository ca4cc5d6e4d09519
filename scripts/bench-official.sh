#!/usr/bin/env bash
# Side by side in one run: the official DiT forward (facebookresearch/DiT models.py with timm, on
# Debian's python3-torch) and `ditstudio-cli bench`, same architecture, threads, batch and image size,
# random weights; prints ms per forward for both and the ratio (official / ours: > 1 means we are faster).
# bf16 is the official code under CPU autocast (torch.autocast("cpu", torch.bfloat16)) against our --dtype bf16.
#
# Usage: scripts/bench-official.sh DIT_SRC TIMM_SRC [ARCH ...]        (default archs: DiT-S/2 DiT-B/2 DiT-XL/2)
#   DIT_SRC   a checkout of github.com/facebookresearch/DiT (models.py)
#   TIMM_SRC  a checkout of github.com/huggingface/pytorch-image-models at v0.9.x (works with torch 1.13)
# Environment: THREADS (2), BATCH (2), SIZE (256), ITERS (3), DTYPES ("fp32 bf16"), CLI (build/release/app/ditstudio-cli)
# Needs: /usr/bin/python3 with python3-torch and python3-torchvision (apt install python3-torch python3-torchvision).
# Nothing of the official code is copied into this repository: it is imported from the given folders.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,14p' "$0"; exit 2; }
DIT_SRC=$(realpath "$1"); TIMM_SRC=$(realpath "$2"); shift 2
ARCHS=("$@"); [ ${#ARCHS[@]} -eq 0 ] && ARCHS=(DiT-S/2 DiT-B/2 DiT-XL/2)
THREADS=${THREADS:-2}; BATCH=${BATCH:-2}; SIZE=${SIZE:-256}; ITERS=${ITERS:-3}; DTYPES=${DTYPES:-"fp32 bf16"}
CLI=${CLI:-build/release/app/ditstudio-cli}
PY=/usr/bin/python3
[ -f "$DIT_SRC/models.py" ] || { echo "no models.py in $DIT_SRC" >&2; exit 2; }
[ -d "$TIMM_SRC/timm" ] || { echo "no timm package in $TIMM_SRC" >&2; exit 2; }
[ -x "$CLI" ] || { echo "build the CLI first ($CLI)" >&2; exit 2; }
"$PY" -c "import torch, torchvision" 2>/dev/null || { echo "needs python3-torch and python3-torchvision" >&2; exit 2; }

official() { # arch dtype -> median ms
    PYTHONPATH="$TIMM_SRC:$DIT_SRC" OMP_NUM_THREADS=$THREADS "$PY" - "$1" "$2" "$THREADS" "$BATCH" "$SIZE" "$ITERS" <<'PYEOF'
import sys, time, contextlib, torch
from models import DiT_models
arch, dtype, threads, batch, size, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = DiT_models[arch](input_size=size // 8).eval()
x = torch.randn(batch, 4, size // 8, size // 8)
t = torch.randint(0, 1000, (batch,))
y = torch.randint(0, 1000, (batch,))
ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if dtype == "bf16" else contextlib.nullcontext
times = []
with torch.inference_mode():
    with ctx():
        model(x, t, y)  # warm-up
    for _ in range(iters):
        s = time.perf_counter()
        with ctx():
            out = model(x, t, y)
        out.float().sum().item()
        times.append((time.perf_counter() - s) * 1000)
times.sort()
print(f"{times[len(times) // 2]:.1f}")
PYEOF
}

ours() { # arch dtype -> median ms
    "$CLI" bench --arch "$1" --dtype "$2" --threads "$THREADS" --batch "$BATCH" --image-size "$SIZE" \
        --iters "$ITERS" --json --log-level warn | "$PY" -c "import json,sys; print(f\"{json.load(sys.stdin)['ms_median']:.1f}\")"
}

printf "%-10s %-5s %14s %14s %7s   (threads %s, batch %s, %s px, median of %s)\n" model dtype "official ms" "DiT Studio ms" ratio \
    "$THREADS" "$BATCH" "$SIZE" "$ITERS"
for arch in "${ARCHS[@]}"; do
    for dt in $DTYPES; do
        o=$(official "$arch" "$dt")
        m=$(ours "$arch" "$dt")
        r=$("$PY" -c "print(f'{$o / $m:.2f}x')")
        printf "%-10s %-5s %14s %14s %7s\n" "$arch" "$dt" "$o" "$m" "$r"
    done
done
