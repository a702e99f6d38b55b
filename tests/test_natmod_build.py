"""The native module build is reproducible: the same sources give the same .mpy bytes, whatever
the checkout's or the output directory's path (mpy_ld.py writes its output path into the file,
and orders some of what it writes by Python's randomized string hashes; scripts/build_natmod.sh
pins both). A module's size is heap on the board, so it must not depend on where it was built."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def _build(out: Path, arch: str) -> bytes:
    env = dict(os.environ, ULML_NATMOD_OUT=str(out))
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), arch], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return (out / f"ulab_ml_{arch}.mpy").read_bytes()


def test_two_builds_give_identical_modules(tmp_path: Path) -> None:
    a = _build(tmp_path / "a", "armv6m")
    b = _build(tmp_path / "a_much_longer_directory_name" / "nested", "armv6m")
    assert hashlib.sha256(a).hexdigest() == hashlib.sha256(b).hexdigest()
    assert b"build-armv6m" not in a and str(tmp_path).encode() not in a
