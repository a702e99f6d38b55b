"""Shared test setup: the native module is (re)built once per session if its sources changed."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = Path(os.environ.get("ULAB_ML_SHARED_MODELS", ROOT.parent / "shared" / "models"))
SEED = int(os.environ.get("ULAB_ML_SEED", "20261121"))


@pytest.fixture(scope="session", autouse=True)
def built_natmod() -> None:
    """Rebuild the x64 native module if its sources changed (one xdist worker at a time)."""
    lock = ROOT / ".cache" / "natmod.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), "x64"], check=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"ulab_ml seed: {SEED} (set ULAB_ML_SEED to change)"]
    if SHARED_MODELS.is_dir():
        lines.append(f"third-party model suite: {SHARED_MODELS}")
    else:
        lines.append(f"third-party model suite NOT FOUND at {SHARED_MODELS}: "
                     "only the project's own generated models are tested")
    return lines
