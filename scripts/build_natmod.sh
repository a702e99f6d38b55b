#!/usr/bin/env bash
# Build the ulab_ml native module for one or more MicroPython architectures.
# Usage: scripts/build_natmod.sh [ARCH...]   (default: x64)
# Output: .cache/natmod/ulab_ml_<arch>.mpy  (rebuilt only when natmod/ sources changed)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
MPY_DIR="$CACHE/micropython-1.25.0"
PY="$ROOT/.venv/bin/python"
[ $# -gt 0 ] || set -- x64
src_hash=$(find "$ROOT/natmod" -type f \( -name '*.c' -o -name '*.h' -o -name Makefile \) -not -path '*/build/*' \
           | sort | xargs cat | sha256sum | cut -c1-16)
mkdir -p "$CACHE/natmod"
for arch in "$@"; do
    out="$CACHE/natmod/ulab_ml_$arch.mpy"
    stamp="$out.srchash"
    if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$src_hash" ]; then
        continue
    fi
    echo "[natmod] building $arch" >&2
    build="$CACHE/natmod/build-$arch"
    rm -rf "$build"
    make -s -C "$ROOT/natmod" MPY_DIR="$MPY_DIR" ARCH="$arch" BUILD="$build" \
        PYTHON="$PY" MOD="ulab_ml_$arch" >&2
    mv "$ROOT/natmod/ulab_ml_$arch.mpy" "$out"
    echo "$src_hash" > "$stamp"
done
