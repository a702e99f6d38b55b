"""Run MicroPython snippets on the unix port with the ulab_ml package and native module."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ulab_ml_host.paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON


def run_micropython(script: str, cwd: Path | None = None, heapsize: str = "8M") -> subprocess.CompletedProcess:
    env = dict(os.environ, MICROPYPATH=f"{DEVICE_PACKAGE.parent}:{NATMOD_DIR}")
    return subprocess.run([str(UNIX_MICROPYTHON), "-X", f"heapsize={heapsize}", "-c", script],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
