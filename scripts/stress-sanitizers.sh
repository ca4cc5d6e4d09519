#!/usr/bin/env bash
# The cancel/close stress test (tests/backend/stress_test.cpp) under AddressSanitizer + UBSan and under
# ThreadSanitizer: builds the stress test (ditstudio_stress_tests) with the asan and tsan presets and runs CancelStress with
# DITSTUDIO_STRESS_RUNS runs (default 200) in each. LibTorch, OpenBLAS and libgomp are not instrumented;
# tests/sanitizers/tsan.supp lists what TSan cannot see through in them (and nothing of ours).
# Usage: scripts/stress-sanitizers.sh [asan] [tsan]   (default: both). Builds the engine library and one
# test file per preset: about 25 min each on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(asan tsan)
runs=${DITSTUDIO_STRESS_RUNS:-200}
jobs=${JOBS:-2}
for p in "${presets[@]}"; do
    echo "== $p: configure and build the stress test"
    cmake --preset "$p" >/dev/null
    cmake --build "build/$p" -j "$jobs" --target ditstudio_stress_tests
    echo "== $p: CancelStress, $runs runs"
    case "$p" in
    asan)
        export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        ;;
    tsan)
        export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/sanitizers/tsan.supp"
        ;;
    esac
    DITSTUDIO_STRESS_RUNS=$runs OMP_WAIT_POLICY=passive "build/$p/tests/ditstudio_stress_tests"
done
echo "stress test clean under: ${presets[*]}"
