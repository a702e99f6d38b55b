#!/usr/bin/env bash
# The main job: convert the bundled example model and run it through ulab_ml on an emulated
# microcontroller (and the MicroPython unix port), checked against TensorFlow Lite Micro.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
exec "$ROOT/.venv/bin/python" "$ROOT/examples/demo.py" "$@"
