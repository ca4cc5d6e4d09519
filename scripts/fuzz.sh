#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan; preset "fuzz") and run each for SECONDS
# (default 60) on a corpus seeded from the test fixtures. Prints executions per harness and exits
# non-zero when a harness found a crash (the input is kept in build/fuzz/crashes/<harness>/ and becomes a
# regression test in tests/backend with its bytes). Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(fuzz_safetensors_header fuzz_pickle fuzz_torch_checkpoint
    fuzz_diffusers_config fuzz_png_text fuzz_video fuzz_prompt)
command -v clang++-14 >/dev/null || { echo "fuzz: needs clang-14 and libfuzzer-14-dev (scripts/install-deps.sh)"; exit 1; }
cmake --preset fuzz >/dev/null && cmake --build build/fuzz -j "$(nproc)" || exit 1

fixtures=tests/data/parity
corpus=build/fuzz/corpus
seed() { # harness, files...
    local dir=$corpus/$1; shift
    mkdir -p "$dir"
    for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$dir/" 2>/dev/null; done
}
seed fuzz_safetensors_header "$fixtures"/*/*.safetensors "$fixtures"/dit-tiny/diffusers/transformer/*.safetensors
seed fuzz_torch_checkpoint "$fixtures"/dit-tiny/*.pt
seed fuzz_diffusers_config "$fixtures"/dit-tiny/diffusers/transformer/config.json "$fixtures"/dit-tiny/config.json
seed fuzz_png_text tests/fuzz/corpus/png_text/*
seed fuzz_video tests/fuzz/corpus/video/*
seed fuzz_prompt tests/fuzz/corpus/prompt/*
mkdir -p "$corpus/fuzz_pickle"
for pt in "$fixtures"/dit-tiny/weights.pt "$fixtures"/dit-tiny/train-checkpoint.pt; do
    unzip -p "$pt" '*/data.pkl' > "$corpus/fuzz_pickle/$(basename "$pt").data.pkl" 2>/dev/null
done
cp -n "$fixtures"/dit-tiny/weights-legacy.pt "$corpus/fuzz_pickle/" 2>/dev/null

export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export DITSTUDIO_FUZZ_DIFFUSERS_WEIGHTS=$PWD/$fixtures/dit-tiny/diffusers/transformer/diffusion_pytorch_model.safetensors
export DITSTUDIO_LOG=off
status=0
total=0
for h in "${harnesses[@]}"; do
    mkdir -p "build/fuzz/crashes/$h" "$corpus/$h"
    log=build/fuzz/$h.log
    build/fuzz/tests/fuzz/$h "$corpus/$h" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
        -timeout=20 -artifact_prefix="build/fuzz/crashes/$h/" -print_final_stats=1 > "$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    runs=${runs:-0}
    total=$((total + runs))
    if [ $rc -ne 0 ]; then
        status=1
        echo "fuzz: $h FOUND A CRASH after $runs executions (see $log, build/fuzz/crashes/$h/)"
    else
        printf 'fuzz: %-26s %12d executions in %s s, no crash\n' "$h" "$runs" "$seconds"
    fi
done
echo "fuzz: $total executions in total"
exit $status
