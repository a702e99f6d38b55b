#!/usr/bin/env bash
# Build the ulab_ml native module for one or more MicroPython architectures.
# Usage: scripts/build_natmod.sh [ARCH...]   (default: x64; arm: armv6m armv7m armv7emsp)
# Output: .cache/natmod/ulab_ml_<arch>.mpy, rebuilt only when natmod/ sources changed.
# With CMSIS_NN_DIR=<a CMSIS-NN checkout>: .cache/natmod-cmsis/ulab_ml_<arch>.mpy, calling its
# kernels (docs/CMSIS_NN.md); rebuilt when natmod/ or that checkout's sources change.
# ULML_NATMOD_OUT=<dir> puts the modules there instead (tests/test_natmod_build.py).
# The same sources give the same bytes, wherever the checkout is.
# Concurrent runs are safe: each builds in its own directory and the result is moved in place.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
MPY_DIR="$CACHE/micropython-1.25.0"
PY="$ROOT/.venv/bin/python"
[ $# -gt 0 ] || set -- x64
src_hash=$( { find "$ROOT/natmod" -type f \( -name '*.c' -o -name '*.h' -o -name Makefile -o -name '*.mk' \) \
               -not -path '*/host/*' | sort; echo "$ROOT/scripts/build_natmod.sh"; } | xargs cat | sha256sum | cut -c1-16)
OUT_DIR="${ULML_NATMOD_OUT:-$CACHE/natmod}"
MAKE_CMSIS=()
if [ -n "${CMSIS_NN_DIR:-}" ]; then
    # Optional build against the user's CMSIS-NN checkout (docs/CMSIS_NN.md): .cache/natmod-cmsis/.
    CMSIS_NN_DIR="$(cd "$CMSIS_NN_DIR" && pwd)"
    if [ ! -f "$CMSIS_NN_DIR/Include/arm_nnfunctions.h" ]; then
        echo "CMSIS_NN_DIR=$CMSIS_NN_DIR is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h)" >&2
        exit 2
    fi
    OUT_DIR="${ULML_NATMOD_OUT:-$CACHE/natmod-cmsis}"
    src_hash=$( { echo "$src_hash"; find "$CMSIS_NN_DIR/Include" "$CMSIS_NN_DIR/Source" -type f -name '*.[ch]' \
                  | sort | xargs cat; } | sha256sum | cut -c1-16)
    MAKE_CMSIS=(CMSIS_NN_DIR="$CMSIS_NN_DIR")
fi
mkdir -p "$OUT_DIR"
for arch in "$@"; do
    out="$OUT_DIR/ulab_ml_$arch.mpy"
    stamp="$out.srchash"
    if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$src_hash" ]; then
        continue
    fi
    echo "[natmod] building $arch" >&2
    work=$(mktemp -d "$OUT_DIR/build-$arch.XXXXXX")
    # dynruntime.mk writes $(MOD).mpy into the current directory: build from a private copy.
    cp -r "$ROOT/natmod/Makefile" "$ROOT/natmod/cmsis_nn.mk" "$ROOT/natmod/ulab_ml_native.c" "$ROOT/natmod/engine" \
          "$ROOT/natmod/kernels" "$work/"
    # A relative BUILD and a fixed hash seed make the .mpy reproducible: mpy_ld.py writes the
    # path of its output into the file (as the module's source name, which is heap on the
    # board), and orders some of what it writes by Python's randomized string hashes.
    PYTHONHASHSEED=0 make -s -C "$work" MPY_DIR="$MPY_DIR" ARCH="$arch" BUILD=build \
        PYTHON="$PY" MOD="ulab_ml_$arch" "${MAKE_CMSIS[@]}" >&2
    mv "$work/ulab_ml_$arch.mpy" "$out.tmp.$$"
    mv "$out.tmp.$$" "$out"
    echo "$src_hash" > "$stamp"
    rm -rf "$OUT_DIR/build-$arch"
    mv "$work/build" "$OUT_DIR/build-$arch" 2>/dev/null || true   # objects, for inspection
    rm -rf "$work"
done
# Build summary: the size of each native module (what a board's filesystem and heap hold).
for arch in "$@"; do
    printf '[natmod] ulab_ml_%s.mpy: %d bytes\n' "$arch" "$(stat -c %s "$OUT_DIR/ulab_ml_$arch.mpy")" >&2
done
