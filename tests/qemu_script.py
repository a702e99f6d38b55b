"""Run one MicroPython module on a QEMU board in one boot: the ulab_ml package and the board's
native module, the module (compiled with mpy-cross) and data files go into a ROMFS image in the
board's flash (mounted at /rom), as for `ulab_ml_host.qemu`'s batches; the board's own littlefs
filesystem stays mounted at /. Used by tests that need their own code on the board (heap
measurements), where the batch runner's fixed protocol does not fit."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ulab_ml_host import qemu
from ulab_ml_host.bench import _mpy_cross_armv6m
from ulab_ml_host.paths import DEVICE_PACKAGE


def run_module(target: str, module_src: str, call: str, files: dict[str, bytes] | None = None, *,
               package_src: str | None = None, timeout: float = 600.0, native: bool = False) -> list[str]:
    """Boot `target`, import `module_src` as module `probe` from /rom and run the statement
    `call`; return its printed lines. package_src replaces ulab_ml/__init__.py's source (for
    showing that a check trips). native: the probe has viper or inline-assembler code (compiled
    for armv6m, which every QEMU board runs). AssertionError if the statement raised."""
    board = qemu.load_board(target)
    qemu.ensure_built(board)
    src = package_src if package_src is not None else (DEVICE_PACKAGE / "__init__.py").read_text()
    with tempfile.TemporaryDirectory(prefix=f"ulab_ml_probe_{target}_") as tmpdir:
        tmp = Path(tmpdir)
        image_files: dict[str, bytes | dict] = {
            "ulab_ml": {"__init__.mpy": qemu._mpy_cross(src, "__init__", tmp)},
            board.natmod.name: board.natmod.read_bytes(),
            "probe.mpy": (_mpy_cross_armv6m if native else qemu._mpy_cross)(module_src, "probe", tmp),
            **(files or {}),
        }
        image = qemu.build_romfs(image_files)
        assert len(image) <= board.romfs_size, "ROMFS image too large for the board"
        img = tmp / "probe.img"
        img.write_bytes(image)
        s = qemu._Session(board, board.argv(img), tmp / "qemu.stderr")
        try:
            deadline = time.monotonic() + timeout
            s.start_script(f"import probe\n{call}\n", deadline, 30, "starting the probe",
                           romfs=(board.romfs_addr, len(image)))
            out = s.read_until(b"\x04", deadline, timeout, "running the probe")[:-1]
            err = s.read_until(b"\x04", deadline, 30, "reading the probe's exit status")[:-1]
        finally:
            s.close()
    text = out.decode(errors="replace")
    assert not err.strip(), f"{target}: the probe failed: {err.decode(errors='replace').strip()}\n{text}"
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]
