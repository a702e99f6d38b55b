"""The Python code is ruff-clean and the native module builds -Werror clean for every ARM arch."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ruff"), "check", "--output-format", "concise",
                           "host_tools", "tests", "examples"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_native_modules_build_for_every_arch_and_stay_small() -> None:
    """Every architecture builds -Werror clean; the build summary reports each .mpy's size,
    which stays under 64 KiB (it is loaded into the board's heap)."""
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), "x64", "armv6m", "armv7m", "armv7emsp"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    sizes = dict(re.findall(r"\[natmod\] ulab_ml_(\w+)\.mpy: (\d+) bytes", proc.stderr))
    assert set(sizes) == {"x64", "armv6m", "armv7m", "armv7emsp"}, proc.stderr
    for arch, size in sizes.items():
        assert int(size) < 64 * 1024, f"ulab_ml_{arch}.mpy is {size} bytes"
        header = (ROOT / ".cache" / "natmod" / f"ulab_ml_{arch}.mpy").read_bytes()[:4]
        assert header[:2] == b"M\x06" and header[3] == 0x1F, header
