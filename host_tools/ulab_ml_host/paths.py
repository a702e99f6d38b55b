"""Where the project's built artefacts live (built by scripts/setup.sh into .cache/)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("ULAB_ML_ROOT", Path(__file__).resolve().parents[2]))
CACHE = ROOT / ".cache"
DEVICE_PACKAGE = ROOT / "ulab_ml"
# ULAB_ML_NATMOD_DIR: run another build of the native module, e.g. .cache/natmod-cmsis (docs/CMSIS_NN.md).
NATMOD_DIR = Path(os.environ.get("ULAB_ML_NATMOD_DIR") or CACHE / "natmod").absolute()
UNIX_MICROPYTHON = CACHE / "bin" / "micropython"


def natmod_path(arch: str) -> Path:
    return NATMOD_DIR / f"ulab_ml_{arch}.mpy"
