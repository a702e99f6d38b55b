#!/usr/bin/env bash
# Build the engine's host harness (natmod/host/uml_run.c) with ASan + UBSan into .cache/host/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.cache/host/uml_run"
mkdir -p "$ROOT/.cache/host"
srcs=$(ls "$ROOT"/natmod/engine/*.c "$ROOT"/natmod/kernels/*.c "$ROOT"/natmod/host/uml_run.c)
hash=$(cat $srcs "$ROOT"/natmod/engine/*.h "$ROOT"/natmod/kernels/*.h | sha256sum | cut -c1-16)
if [ -x "$OUT" ] && [ "$(cat "$OUT.srchash" 2>/dev/null)" = "$hash" ]; then exit 0; fi
gcc -std=c11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -fno-strict-aliasing \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -o "$OUT.tmp" $srcs
mv "$OUT.tmp" "$OUT"
echo "$hash" > "$OUT.srchash"
