#!/usr/bin/env bash
# Run the whole test suite (installs and builds what it needs first; idempotent).
#   scripts/test.sh [pytest args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env -u CMSIS_NN_DIR bash "$ROOT/scripts/setup.sh"   # the default build (CMSIS_NN_DIR: tests/test_cmsis_nn.py)
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest -p no:cacheprovider -n 2 --dist loadfile "$@"
