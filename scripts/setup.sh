#!/usr/bin/env bash
# Idempotent setup: Debian packages, MicroPython 1.25.0 from Debian's source package,
# the pinned virtualenv at .venv/, the MicroPython unix port and the ulab_ml native module.
# Everything built goes under .cache/ (git-ignored); a second run only rebuilds what changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
MPY_VERSION="1.25.0"
MPY_DEB_VERSION="1.25.0+ds-1"
MPY_TARBALL="micropython_1.25.0+ds.orig.tar.xz"
MPY_SHA256="7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea"
MPY_DIR="$CACHE/micropython-$MPY_VERSION"
APT_PACKAGES=(build-essential gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm xz-utils
              clang-14 libclang-rt-14-dev)

log() { printf '[setup] %s\n' "$*" >&2; }
mkdir -p "$CACHE"

# --- 1. Debian packages -----------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. MicroPython source (Debian trixie source package, pinned and hash-checked) ------
if [ ! -f "$MPY_DIR/.extracted" ]; then
    tarball="$CACHE/$MPY_TARBALL"
    if [ ! -f "$tarball" ] || ! echo "$MPY_SHA256  $tarball" | sha256sum -c --quiet 2>/dev/null; then
        log "fetching MicroPython $MPY_DEB_VERSION source package"
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        if [ -z "$mirror" ]; then
            mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
        fi
        [ -n "$mirror" ] || { log "cannot find a Debian mirror in the apt configuration"; exit 1; }
        aptdir="$CACHE/apt-trixie-src"
        mkdir -p "$aptdir/lists/partial"
        echo "deb-src $mirror trixie main" > "$aptdir/sources.list"
        aptopts=(-o "Dir::Etc::sourcelist=$aptdir/sources.list" -o "Dir::Etc::sourceparts=-"
                 -o "Dir::State::Lists=$aptdir/lists" -o "APT::Get::List-Cleanup=0")
        apt-get "${aptopts[@]}" update -qq
        (cd "$CACHE" && apt-get "${aptopts[@]}" source --download-only -qq "micropython=$MPY_DEB_VERSION")
        echo "$MPY_SHA256  $tarball" | sha256sum -c --quiet
    fi
    log "extracting MicroPython source"
    rm -rf "$MPY_DIR"
    mkdir -p "$MPY_DIR"
    tar -xJf "$tarball" -C "$MPY_DIR" --strip-components=1
    touch "$MPY_DIR/.extracted"
fi

# --- 3. Python virtualenv (pinned) ----------------------------------------------------------
VENV="$ROOT/.venv"
REQ_STAMP="$VENV/.requirements.sha256"
req_hash=$(cat "$ROOT/requirements.txt" "$ROOT/host_tools/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$REQ_STAMP" 2>/dev/null)" != "$req_hash" ]; then
    log "creating virtualenv .venv"
    python3 -m venv "$VENV"
    # (grep drops pip's notes about absent local package mirrors on this machine kind)
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" 2>&1 \
        | { grep -v "^WARNING: Location" || true; } >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -e "$ROOT/host_tools" 2>&1 \
        | { grep -v "^WARNING: Location" || true; } >&2
    "$VENV/bin/python" -c "import numpy, tflite_micro, ulab_ml_host" # fail here if an install failed
    echo "$req_hash" > "$REQ_STAMP"
fi

# --- 3b. TensorFlow for `ulab-ml quantize` (the host package's "quantize" extra, pinned) -----
QREQ_STAMP="$VENV/.requirements-quantize.sha256"
qreq_hash=$(cat "$ROOT/requirements-quantize.txt" "$ROOT/requirements.txt" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$QREQ_STAMP" 2>/dev/null)" != "$qreq_hash" ]; then
    log "installing TensorFlow into .venv (requirements-quantize.txt; a few minutes the first time)"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements-quantize.txt" \
        -c "$ROOT/requirements.txt" 2>&1 | { grep -v "^WARNING: Location" || true; } >&2
    "$VENV/bin/python" -c "import tensorflow, keras" 2>/dev/null \
        || { log "TensorFlow did not install (ulab-ml quantize needs it)"; exit 1; }
    echo "$qreq_hash" > "$QREQ_STAMP"
fi

# --- 4. MicroPython unix port -----------------------------------------------------------
UNIX_BIN="$CACHE/bin/micropython"
if [ ! -x "$UNIX_BIN" ]; then
    log "building the MicroPython unix port"
    make -s -C "$MPY_DIR/mpy-cross" -j2 >/dev/null
    make -s -C "$MPY_DIR/ports/unix" -j2 FROZEN_MANIFEST= MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 \
        MICROPY_PY_FFI=0 >/dev/null
    mkdir -p "$CACHE/bin"
    cp "$MPY_DIR/ports/unix/build-standard/micropython" "$UNIX_BIN"
fi

# --- 5. Native modules ------------------------------------------------------------------------
"$ROOT/scripts/build_natmod.sh" x64
"$ROOT/scripts/build_qemu_boards.sh"
