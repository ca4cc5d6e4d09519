#!/usr/bin/env bash
# Installs every Debian 12 package DiT Studio needs to build, test and run.
# Idempotent: installs only what is missing; runs `apt-get update` only when a package
# is missing and its candidate cannot be found in the current lists. Works as root or via sudo.
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential cmake ninja-build pkg-config git
    # Qt 6 (widgets, SQL with the SQLite driver, Qt Test, concurrent, Charts; Debian's qt6-charts-dev
    # needs libqt6opengl6-dev for its CMake package without depending on it)
    qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite libgl-dev qt6-charts-dev libqt6opengl6-dev
    # LibTorch (CPU) and an optimized BLAS for it; Gloo for c10d data parallel
    libtorch-dev libopenblas0-pthread libopenblas0-openmp libgloo-dev
    # OpenCV (only the modules we use: core, imgproc, imgcodecs)
    libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
    # FFmpeg 5.1
    libavcodec-dev libavformat-dev libavutil-dev libswscale-dev ffmpeg
    # logging, JSON, tests
    libspdlog-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
    # fuzzing (make fuzz): clang with libFuzzer and its sanitizer runtimes; unzip for the seed corpus
    clang-14 libfuzzer-14-dev libclang-rt-14-dev unzip
    # the format check (ctest structure.format): one pinned clang-format, so every machine agrees
    clang-format-14
    # model downloads (HTTP(S) with resume)
    libcurl4-openssl-dev
    # installer checks: the .desktop file, AppStream metadata, the Debian package
    desktop-file-utils appstream lintian
    # headless GUI tests and screenshots
    xvfb xauth x11-apps imagemagick
    # fonts so the UI renders text under Xvfb/offscreen
    fonts-dejavu-core
    # training data for the default model
    dataset-fashion-mnist
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install-deps: need root or sudo to install packages" >&2; exit 1; fi
fi

# LibTorch calls BLAS for every matrix product without splitting it over its own pool, so the BLAS
# must use all cores without fighting LibTorch's OpenMP pool: OpenBLAS's OpenMP build shares it (see
# README "Threads and BLAS"). Debian selects the BLAS through alternatives; point them at that build.
use_openmp_blas() {
    local arch dir
    arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
    dir=/usr/lib/$arch/openblas-openmp
    [ -e "$dir/libopenblas.so.0" ] || return 0
    for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
        if [ "$(readlink -f "/usr/lib/$arch/$lib")" != "$(readlink -f "$dir/$lib")" ]; then
            $SUDO update-alternatives --set "$lib-$arch" "$dir/$lib" >/dev/null
            echo "install-deps: $lib -> OpenBLAS (OpenMP build)"
        fi
    done
}

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    use_openmp_blas
    echo "install-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
# Refresh the package lists only when a missing package has no install candidate.
need_update=0
for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ $need_update -eq 1 ]; then
    echo "install-deps: apt-get update"
    $SUDO apt-get update -q
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
use_openmp_blas
echo "install-deps: done"
