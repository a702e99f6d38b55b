"""Where the project's built artefacts live (built by scripts/setup.sh into .cache/)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("ULAB_ML_ROOT", Path(__file__).resolve().parents[2]))
CACHE = ROOT / ".cache"
DEVICE_PACKAGE = ROOT / "ulab_ml"
NATMOD_DIR = CACHE / "natmod"
UNIX_MICROPYTHON = CACHE / "bin" / "micropython"


def natmod_path(arch: str) -> Path:
    return NATMOD_DIR / f"ulab_ml_{arch}.mpy"
