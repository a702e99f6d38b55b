"""Shared test setup: the native module is (re)built once per session if its sources changed."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = Path(os.environ.get("ULAB_ML_SHARED_MODELS", ROOT.parent / "shared" / "models"))
SEED = int(os.environ.get("ULAB_ML_SEED", "20261121"))
# The CMSIS-NN build (docs/CMSIS_NN.md) is tested only against a checkout the user names. The
# variable leaves the environment, so that every native module build the suite starts is the
# default one (scripts/build_natmod.sh builds the CMSIS-NN variant when it sees CMSIS_NN_DIR);
# xdist workers and tests/test_cmsis_nn.py find it in ULAB_ML_CMSIS_NN_DIR.
CMSIS_NN_DIR = os.environ.pop("CMSIS_NN_DIR", "") or os.environ.get("ULAB_ML_CMSIS_NN_DIR", "")
if CMSIS_NN_DIR:
    os.environ["ULAB_ML_CMSIS_NN_DIR"] = CMSIS_NN_DIR
CMSIS_NN_UNTESTED = "CMSIS-NN build not tested: CMSIS_NN_DIR unset"
collect_ignore = [] if CMSIS_NN_DIR else ["test_cmsis_nn.py"]


@pytest.fixture(scope="session", autouse=True)
def built_natmod() -> None:
    """Rebuild the x64 native module if its sources changed (one xdist worker at a time)."""
    lock = ROOT / ".cache" / "natmod.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), "x64"], check=True)


def build_qemu_boards(*boards: str, tools: tuple[str, ...] = ("qemu-system-arm", "arm-none-eabi-gcc")) -> None:
    """Build the QEMU board firmwares (all, or `boards`) and the ARM native modules: a no-op when
    up to date. Skips the calling test when the emulator or cross compiler is not installed."""
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/setup.sh installs it)")
    subprocess.run(["bash", str(ROOT / "scripts" / "build_qemu_boards.sh"), *boards], check=True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"ulab_ml seed: {SEED} (set ULAB_ML_SEED to change)"]
    if SHARED_MODELS.is_dir():
        lines.append(f"third-party model suite: {SHARED_MODELS}")
    else:
        lines.append(f"third-party model suite NOT FOUND at {SHARED_MODELS}: "
                     "only the project's own generated models are tested")
    lines.append(f"CMSIS-NN build tested against CMSIS_NN_DIR={CMSIS_NN_DIR}" if CMSIS_NN_DIR else CMSIS_NN_UNTESTED)
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CMSIS_NN_DIR:
        terminalreporter.write_line(CMSIS_NN_UNTESTED)
