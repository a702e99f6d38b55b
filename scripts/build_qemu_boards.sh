#!/usr/bin/env bash
# Build the QEMU board firmwares (boards/qemu-*) and the ARM native modules they load.
# Usage: scripts/build_qemu_boards.sh [BOARD...]   (default: qemu-m0 qemu-m3 qemu-m4)
# Needs scripts/setup.sh to have run (MicroPython source in .cache, the ARM toolchain).
#
# Each board directory holds the files of one ports/qemu board (mpconfigboard.mk and friends).
# They are applied to a copy of MicroPython 1.25's ports/qemu (.cache/micropython-1.25.0/ports/
# qemu_ulab_ml, refreshed from ports/qemu on every rebuild, so the extracted source itself is
# never modified) and built there.
# Output: .cache/qemu/<board>/firmware.elf, rebuilt only when the board's files (or this
# script) changed (hash stamp firmware.elf.srchash); .cache/natmod/ulab_ml_<arch>.mpy for
# armv6m, armv7m and armv7emsp (scripts/build_natmod.sh, also hash-stamped); and the
# MicroPython mpy-cross (used to precompile the ulab_ml package for the boards).
#
# Frozen modules (optional): with ULML_FROZEN_MANIFEST=FILE (a MicroPython manifest, e.g.
# `freeze("/abs/dir", ("kws_model.mpy",))`; keep it and the files it freezes in one directory),
# each BOARD is built with FROZEN_MANIFEST=FILE instead, into .cache/qemu/<board>-frozen/
# firmware.elf (.cache/qemu/$ULML_FROZEN_NAME/ if that is set); its stamp also covers every file
# in the manifest's directory. The boards' own firmwares are not touched. In that build
# frozen_content.o (the frozen modules' data) is compiled with -O2 instead of -Os: GCC for ARM
# word-aligns string constants, which is what frozen bytes objects are, only when not optimizing
# for size, and ulab_ml uses a frozen model blob in place only when it is 4-byte aligned.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
MPY_DIR="$CACHE/micropython-1.25.0"
PORT_COPY="$MPY_DIR/ports/qemu_ulab_ml"
# C sources every QEMU board builds (the filesystem: qemu_flash.c), copied next to each board's files.
COMMON="$ROOT/boards/qemu-common"
[ $# -gt 0 ] || set -- qemu-m0 qemu-m3 qemu-m4
FROZEN="${ULML_FROZEN_MANIFEST:-}"
if [ -n "$FROZEN" ]; then
    [ -f "$FROZEN" ] || { echo "[qemu-boards] ULML_FROZEN_MANIFEST: no such file: $FROZEN" >&2; exit 1; }
    FROZEN="$(cd "$(dirname "$FROZEN")" && pwd)/$(basename "$FROZEN")"
    [ -z "${ULML_FROZEN_NAME:-}" ] || [ $# -eq 1 ] || { echo "[qemu-boards] ULML_FROZEN_NAME needs one BOARD" >&2; exit 1; }
fi

log() { printf '[qemu-boards] %s\n' "$*" >&2; }
[ -f "$MPY_DIR/.extracted" ] || { log "MicroPython source missing: run scripts/setup.sh first"; exit 1; }
command -v arm-none-eabi-gcc >/dev/null || { log "arm-none-eabi-gcc missing: run scripts/setup.sh"; exit 1; }

mkdir -p "$CACHE/qemu"
# One build at a time (pytest-xdist workers or two shells may call this concurrently).
exec 9>"$CACHE/qemu/.lock"
flock 9

"$ROOT/scripts/build_natmod.sh" armv6m armv7m armv7emsp

if [ ! -x "$MPY_DIR/mpy-cross/build/mpy-cross" ]; then
    log "building mpy-cross"
    make -s -C "$MPY_DIR/mpy-cross" -j2 >/dev/null
fi

port_refreshed=0
for board in "$@"; do
    src="$ROOT/boards/$board"
    [ -f "$src/mpconfigboard.mk" ] || { log "no such QEMU board: $src/mpconfigboard.mk"; exit 1; }
    name=$(echo "$board" | tr 'a-z-' 'A-Z_')   # qemu-m0 -> QEMU_M0
    out_name="$board"
    [ -z "$FROZEN" ] || out_name="${ULML_FROZEN_NAME:-$board-frozen}"
    out="$CACHE/qemu/$out_name/firmware.elf"
    stamp="$out.srchash"
    board_hash=$( (cd "$src" && find . -type f ! -name '*.md' ! -name board.json | sort | xargs cat;
                   cat "$COMMON"/*.c "$COMMON"/*.ld;
                   cat "$ROOT/scripts/build_qemu_boards.sh";
                   if [ -n "$FROZEN" ]; then
                       echo "frozen: $FROZEN"
                       (cd "$(dirname "$FROZEN")" && find . -maxdepth 1 -type f | sort | xargs sha256sum)
                   fi) | sha256sum | cut -c1-16)
    if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$board_hash" ]; then
        continue
    fi
    if [ "$port_refreshed" = 0 ]; then
        rm -rf "$PORT_COPY"
        cp -a "$MPY_DIR/ports/qemu" "$PORT_COPY"
        rm -rf "$PORT_COPY"/build-*
        port_refreshed=1
    fi
    log "building $out_name (ports/qemu board $name${FROZEN:+, frozen modules of $FROZEN})"
    start=$(date +%s)
    rm -rf "$PORT_COPY/boards/$name"
    mkdir -p "$PORT_COPY/boards/$name"
    find "$src" -maxdepth 1 -type f ! -name '*.md' ! -name board.json -exec cp {} "$PORT_COPY/boards/$name/" \;
    cp "$COMMON"/*.c "$COMMON"/*.ld "$PORT_COPY/boards/$name/"   # the filesystem (qemu_flash.c, qemu_mps2.ld), shared
    build="$CACHE/qemu/$out_name/build"
    rm -rf "$build"
    mkdir -p "$build"
    frozen_args=(FROZEN_MANIFEST=)
    if [ -n "$FROZEN" ]; then
        printf '\n# Added by build_qemu_boards.sh for a frozen build (see there).\n%s\n' \
            '$(BUILD)/frozen_content.o: COPT += -O2' >> "$PORT_COPY/boards/$name/mpconfigboard.mk"
        # The port's frozen-code rule insists on a micropython-lib checkout (README.md), which
        # the Debian source leaves empty; the manifests frozen here require nothing from it.
        mkdir -p "$CACHE/qemu/no-micropython-lib"
        echo "Empty stand-in for micropython-lib (scripts/build_qemu_boards.sh)" > "$CACHE/qemu/no-micropython-lib/README.md"
        frozen_args=(FROZEN_MANIFEST="$FROZEN" MPY_LIB_DIR="$CACHE/qemu/no-micropython-lib")
    fi
    # GIT_CEILING_DIRECTORIES: the MicroPython tree sits inside this repo; without it the firmware
    # banner would carry this repo's commit instead of MicroPython's version (v1.25.0).
    if ! GIT_CEILING_DIRECTORIES="$ROOT" make -s -C "$PORT_COPY" -j"$(nproc)" BOARD="$name" \
            BUILD="$build" "${frozen_args[@]}" >"$build/make.log" 2>&1; then
        tail -40 "$build/make.log" >&2
        log "building $out_name failed (log: $build/make.log)"
        exit 1
    fi
    cp "$build/firmware.elf" "$out"
    echo "$board_hash" > "$stamp"
    log "built $out_name in $(( $(date +%s) - start )) s: $(arm-none-eabi-size "$out" | tail -1 | awk '{print "text " $1 ", data " $2 ", bss " $3}')"
done
