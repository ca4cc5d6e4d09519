#!/usr/bin/env bash
# Launch-time bench for the GUI: runs `ditstudio --exit-when-ready` N times on the current X display
# (start one with `Xvfb :97 &` and DISPLAY=:97) and prints, per run, the milliseconds from the
# moment before exec to the "window shown" and "ready for a prompt" log lines (default model).
# Usage: scripts/bench-launch.sh [runs=10] [build/release/app/ditstudio]
set -euo pipefail
runs=${1:-10}
exe=${2:-build/release/app/ditstudio}
[[ -n "${DISPLAY:-}" ]] || { echo "bench-launch: set DISPLAY (e.g. Xvfb :97 & DISPLAY=:97)" >&2; exit 2; }
[[ -x "$exe" ]] || { echo "bench-launch: $exe is not built" >&2; exit 2; }
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
stamp() { date -d "$1" +%s%3N; } # "HH:MM:SS.mmm" (today) -> epoch ms
printf "%4s %10s %10s %10s\n" run window_ms engine_ms ready_ms
for i in $(seq 1 "$runs"); do
    start=$(date +%s%3N)
    DITSTUDIO_DATA_DIR="$data" XDG_CONFIG_HOME="$data" "$exe" --exit-when-ready >"$data/out" 2>"$data/log"
    shown=$(grep -m1 "window shown" "$data/log" | sed 's/^\[\([0-9:.]*\)\].*/\1/')
    ready=$(grep -m1 "ready for a prompt" "$data/log" | sed 's/^\[\([0-9:.]*\)\].*/\1/')
    engine=$(grep -m1 "engine module .* loaded in" "$data/log" | sed 's/.* loaded in \([0-9]*\) ms/\1/')
    printf "%4d %10d %10s %10d\n" "$i" $(( $(stamp "$shown") - start )) "$engine" $(( $(stamp "$ready") - start ))
done
