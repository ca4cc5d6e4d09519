#!/usr/bin/env bash
# Installs the Debian package, uses the installed programs, purges it and checks that nothing of it
# is left. Run by `make package-test` (after `make package`), not by `make test`: it needs root (or
# sudo) and changes the system's package set.
#
#   installer/test-deb.sh [VERSION | PATH.deb]
#
# Steps: apt install ./dist/ditstudio_<version>_<arch>.deb -> ditstudio and ditstudio-cli on PATH
# -> the installed CLI generates 5 steps with the installed default model -> the installed GUI starts
# under Xvfb until it is ready for a prompt, with the engine module from the install tree ->
# apt remove --purge -> every file `dpkg -L` listed before the removal is gone. As root, the programs
# run with the checkout (source and build tree) hidden, so they cannot lean on the build folder.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
arch=$(dpkg --print-architecture)
arg=${1:-}
if [[ "$arg" == *.deb ]]; then
    deb=$arg
else
    version=${arg:-$(sed -n 's/^project(DiTStudio VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")}
    deb="$root/dist/ditstudio_${version}_${arch}.deb"
fi
[ -f "$deb" ] || { echo "test-deb: no package $deb (run make package first)" >&2; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "test-deb: needs root or sudo" >&2; exit 1; }
    SUDO=sudo
fi
for tool in xvfb-run apt-get dpkg; do
    command -v "$tool" >/dev/null || { echo "test-deb: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
if dpkg-query -W -f='${Status}' ditstudio 2>/dev/null | grep -q "install ok installed"; then
    echo "test-deb: ditstudio is already installed; remove it first (apt remove --purge ditstudio)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/ditstudio-test-deb.XXXXXX)
installed=0
step() { echo "test-deb: $*"; }
fail() { echo "test-deb: FAILED: $*" >&2; exit 1; }
cleanup() {
    if [ "$installed" = 1 ]; then
        step "cleaning up after a failure: purging the package"
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q ditstudio >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

step "installing $deb"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" >"$work/apt-install.log" 2>&1 \
    || { cat "$work/apt-install.log" >&2; fail "apt-get install"; }
installed=1
dpkg -L ditstudio | sort >"$work/files.txt"
step "$(grep -c . "$work/files.txt") paths installed"

# On PATH, from the package (not the build folder).
for exe in ditstudio ditstudio-cli; do
    where=$(command -v "$exe") || fail "$exe is not on PATH"
    [ "$where" = "/usr/bin/$exe" ] || fail "$exe resolves to $where, expected /usr/bin/$exe"
    if readelf -d "$where" | grep -Eq 'R(UN)?PATH'; then fail "$where carries an RPATH/RUNPATH"; fi
done
[ -f /usr/lib/ditstudio/libditstudio_engine.so ] || fail "no engine module in /usr/lib/ditstudio"
[ -f /usr/share/ditstudio/models/ditstudio-fmnist.safetensors ] || fail "no default model"

# Run from a neutral folder with a fresh home, so nothing of the checkout or the user is used.
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CONFIG_HOME="$work/home/.config"
export XDG_CACHE_HOME="$work/home/.cache" DITSTUDIO_DATA_DIR="$work/home/data"
unset DITSTUDIO_DEFAULT_MODEL DITSTUDIO_ENGINE_MODULE
mkdir -p "$HOME"
cd "$work"

# Where the kernel allows it (root, mount namespaces), the programs run with the checkout -- source
# and build tree -- hidden under an empty tmpfs, so a fallback to a compiled-in build path would fail.
hidden=""
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
    hidden="$root"
    step "running the installed programs with $root hidden (mount namespace)"
else
    step "note: cannot hide $root (needs root and unshare); the paths below are still checked"
fi
run() {
    if [ -n "$hidden" ]; then
        unshare --mount -- sh -c 'mount -t tmpfs tmpfs "$0" && exec "$@"' "$hidden" "$@"
    else
        "$@"
    fi
}

step "ditstudio-cli generate --prompt sneaker --steps 5 --out /tmp/x/"
rm -rf /tmp/x
run ditstudio-cli generate --prompt sneaker --steps 5 --out /tmp/x/ --json --quiet >"$work/generate.json" 2>"$work/generate.log" \
    || { cat "$work/generate.log" >&2; fail "ditstudio-cli generate"; }
ls /tmp/x/*.png >/dev/null 2>&1 || fail "no PNG in /tmp/x/"
grep -q '/usr/share/ditstudio/models/ditstudio-fmnist.safetensors' "$work/generate.json" \
    || { cat "$work/generate.json" >&2; fail "the CLI did not use the installed default model"; }
step "  wrote $(ls /tmp/x/*.png | head -1) with the installed default model"

step "xvfb-run -a ditstudio --exit-when-ready"
if ! run timeout 300 xvfb-run -a ditstudio --exit-when-ready >"$work/gui.out" 2>"$work/gui.log"; then
    cat "$work/gui.out" "$work/gui.log" >&2
    fail "the installed GUI did not become ready"
fi
grep -q "ready for a prompt" "$work/gui.out" || { cat "$work/gui.out" "$work/gui.log" >&2; fail "no 'ready for a prompt'"; }
grep -q "engine module /usr/lib/ditstudio/libditstudio_engine.so loaded" "$work/gui.log" \
    || { cat "$work/gui.log" >&2; fail "the GUI did not load the engine module from /usr/lib/ditstudio"; }
step "  $(cat "$work/gui.out"), engine module from /usr/lib/ditstudio"

step "apt-get remove --purge ditstudio"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q ditstudio >"$work/apt-remove.log" 2>&1 \
    || { cat "$work/apt-remove.log" >&2; fail "apt-get remove --purge"; }
installed=0
dpkg-query -W -f='${Status}' ditstudio 2>/dev/null | grep -q "installed" && fail "ditstudio is still known to dpkg"

left=0
while IFS= read -r path; do
    [ -n "$path" ] && [ "$path" != "/." ] || continue
    if [ -d "$path" ] && [ ! -L "$path" ]; then
        # Shared folders (/usr/bin, /usr/share/icons/...) stay when other packages own them.
        if ! dpkg -S "$path" >/dev/null 2>&1; then
            echo "test-deb: left behind: folder $path" >&2
            left=$((left + 1))
        fi
    elif [ -e "$path" ] || [ -L "$path" ]; then
        echo "test-deb: left behind: $path" >&2
        left=$((left + 1))
    fi
done <"$work/files.txt"
[ "$left" -eq 0 ] || fail "$left path(s) of the package left after the purge"
step "PASSED: installed, generated, launched, purged; none of the $(grep -c . "$work/files.txt") paths left"
