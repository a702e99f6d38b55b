#!/usr/bin/env bash
# Fuzz the blob loader + executor with libFuzzer under ASan + UBSan.
#   scripts/fuzz.sh SECONDS [extra libFuzzer flags]
# Seeds: every conformance case's blob and every shared model (tests/make_fuzz_corpus.py).
# Findings (crash-*, leak-*, timeout-*) land in .cache/fuzz/findings/; exit status non-zero if any.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECONDS_TO_RUN="${1:-60}"; shift || true
FUZZ="$ROOT/.cache/fuzz"
mkdir -p "$FUZZ/corpus" "$FUZZ/findings"
if ! command -v clang-14 >/dev/null; then
    echo "[fuzz] installing clang-14 and libFuzzer" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        clang-14 libclang-rt-14-dev >/dev/null
fi
srcs=$(ls "$ROOT"/natmod/engine/*.c "$ROOT"/natmod/kernels/*.c "$ROOT"/natmod/host/fuzz_loader.c)
hash=$(cat $srcs "$ROOT"/natmod/engine/*.h "$ROOT"/natmod/kernels/*.h | sha256sum | cut -c1-16)
if [ ! -x "$FUZZ/fuzz_loader" ] || [ "$(cat "$FUZZ/fuzz_loader.srchash" 2>/dev/null)" != "$hash" ]; then
    clang-14 -std=c11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -fno-strict-aliasing \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o "$FUZZ/fuzz_loader" $srcs
    echo "$hash" > "$FUZZ/fuzz_loader.srchash"
fi
if [ -z "$(ls -A "$FUZZ/corpus")" ]; then
    (cd "$ROOT" && "$ROOT/.venv/bin/python" -m tests.make_fuzz_corpus "$FUZZ/corpus" >&2)
fi
rm -f "$FUZZ"/findings/*
cd "$FUZZ"
exec ./fuzz_loader -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$FUZZ/findings/" "$@" "$FUZZ/corpus"
