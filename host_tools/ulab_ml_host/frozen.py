"""Models frozen into a QEMU board's firmware: build such a firmware and run its models.

`ulab-ml convert --format mpy` writes a model as a MicroPython module (`MODEL = b'...'`, see
convert.blob_module). Frozen into a firmware, mpy-tool makes MODEL a bytes object in ROM, so
`Model.load(module)` uses the blob where it lies in flash. This module

- writes the .mpy modules and a manifest freezing them into .cache/frozen/<name>/ and builds
  the board's firmware with it (scripts/build_qemu_boards.sh, ULML_FROZEN_MANIFEST: output
  .cache/qemu/<name>/firmware.elf, rebuilt only when the modules or the board change);
- boots that firmware once (ulab_ml and its native module come from a ROMFS image, as for
  qemu.py's batches; more modules may be put there too, to import from the image instead) and,
  per module: imports it, loads `Model.load(module)`, runs its inputs and reports the weights
  mode, the address of MODEL's data, the heap free before the import, after it and after the
  load, and the outputs.

On qemu-m0 the firmware, frozen modules included, must fit the 1 MB of flash below the ROMFS
image area (boards/qemu-m0/qemu_m0.ld; the linker says so if it does not): 209 KB of firmware
leave room for about 800 KB of models. Used by tests/test_frozen.py.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .paths import CACHE, ROOT
from .qemu import (
    BUILD_HINT,
    MPY_CROSS,
    QEMU_CACHE,
    TargetError,
    _base_files,
    _mpy_cross,
    _Session,
    build_romfs,
    load_board,
)

FROZEN_SOURCES = CACHE / "frozen"

# Runs on the board (precompiled into the ROMFS image). Per module k: ULML-LOAD <k> <mode>
# <address of MODEL's data> <len(MODEL)> <ARENA_SIZE> <model.arena_size> <heap free before the
# import> <after the import> <after Model.load>, then ULML-OUT <k> <i> <hex> per inference, or
# ULML-ERR <k> <exception> <message>; finally ULML-DONE.
FROZEN_RUNNER = """
import gc
import sys
import uctypes
from binascii import hexlify
import ulab_ml
from ulab_ml import Model


def _free():
    gc.collect()
    return gc.mem_free()


def run(root, jobs):
    ulab_ml._backend()  # the native module is imported before anything is measured
    out = sys.stdout
    for k in range(len(jobs)):
        name, n = jobs[k]
        m = mod = src = y = None
        f0 = _free()
        try:
            mod = __import__(name)
            f1 = _free()
            m = Model.load(mod)
            f2 = _free()
            print("ULML-LOAD", k, m.mode, uctypes.addressof(mod.MODEL), len(mod.MODEL), mod.ARENA_SIZE,
                  m.arena_size, f0, f1, f2)
            nb = m.input_bytes
            with open("%s/i%d.bin" % (root, k), "rb") as fi:
                src = memoryview(fi)
                for i in range(n):
                    y = m.infer(src[i * nb:(i + 1) * nb])
                    out.write("ULML-OUT %d %d " % (k, i))
                    out.write(hexlify(y))
                    out.write("\\n")
        except Exception as e:
            print("ULML-ERR", k, type(e).__name__, e)
        if m is not None:
            m.close()
        m = mod = src = y = None
        sys.modules.pop(name, None)
    print("ULML-DONE")
"""


@dataclass
class FrozenJob:
    module: str                  # module to import (frozen, or a .mpy in the ROMFS image)
    inputs: np.ndarray           # (N, *input_shape), int8 (passed to infer() in place from the image)
    output_dtype: str
    output_shape: tuple[int, ...]


@dataclass
class FrozenResult:
    module: str
    mode: str                    # Model.mode after Model.load(module)
    address: int                 # of MODEL's data on the board
    blob_bytes: int              # len(MODEL)
    arena_constant: int          # the module's ARENA_SIZE
    arena_size: int              # Model.arena_size
    free_before_import: int      # gc.mem_free() after gc.collect()
    free_after_import: int
    free_after_load: int
    outputs: np.ndarray          # (N, *output_shape)

    @property
    def import_cost(self) -> int:
        return self.free_before_import - self.free_after_import

    @property
    def load_cost(self) -> int:
        return self.free_after_import - self.free_after_load


def write_sources(name: str, modules: dict[str, bytes]) -> Path:
    """Write NAME.mpy for each module and a manifest freezing them into .cache/frozen/<name>/
    (other files there are removed); files whose content is unchanged are not rewritten.
    Returns the manifest's path."""
    d = FROZEN_SOURCES / name
    d.mkdir(parents=True, exist_ok=True)
    files = {f"{mod}.mpy": data for mod, data in sorted(modules.items())}
    listed = ", ".join(repr(f) for f in files)
    files["manifest.py"] = (f"# Written by ulab_ml_host.frozen: the modules frozen into {name}.\n"
                            f"freeze({str(d)!r}, ({listed},))\n").encode()
    for old in d.iterdir():
        if old.name not in files:
            old.unlink()
    for fname, data in files.items():
        path = d / fname
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return d / "manifest.py"


def build_firmware(board: str, name: str, modules: dict[str, bytes]) -> Path:
    """Build `board`'s firmware with `modules` (module name -> .mpy) frozen in, as
    .cache/qemu/<name>/firmware.elf (no-op when up to date)."""
    manifest = write_sources(name, modules)
    env = dict(os.environ, ULML_FROZEN_MANIFEST=str(manifest), ULML_FROZEN_NAME=name)
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "build_qemu_boards.sh"), board], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building {name} failed: {proc.stderr.strip()[-3000:]}")
    return QEMU_CACHE / name / "firmware.elf"


def run_frozen(board_name: str, firmware: Path, jobs: list[FrozenJob], romfs_modules: dict[str, bytes] | None = None,
               *, timeout: float = 900.0, idle_timeout: float = 120.0) -> list[FrozenResult]:
    """Boot `firmware` on QEMU board `board_name` once and run every job (see the module doc).
    romfs_modules: module name -> .mpy put at the root of the ROMFS image (on sys.path first)."""
    board = load_board(board_name)
    for path, hint in ((firmware, "ulab_ml_host.frozen.build_firmware builds it"), (board.natmod, BUILD_HINT),
                       (MPY_CROSS, BUILD_HINT)):
        if not path.is_file():
            raise TargetError(f"{path} is missing: {hint}")
    with tempfile.TemporaryDirectory(prefix=f"ulab_ml_frozen_{board_name}_") as tmpdir:
        tmp = Path(tmpdir)
        files = _base_files(board, tmp)
        files["ulml_frozen_runner.mpy"] = _mpy_cross(FROZEN_RUNNER, "ulml_frozen_runner", tmp)
        for mod, data in (romfs_modules or {}).items():
            files[f"{mod}.mpy"] = data
        for k, job in enumerate(jobs):
            files[f"i{k}.bin"] = np.ascontiguousarray(job.inputs, dtype=np.int8).tobytes()
        image = build_romfs(files)
        if len(image) > board.romfs_size:
            raise TargetError(f"{board.name}: ROMFS image of {len(image)} bytes exceeds {board.romfs_size}")
        img = tmp / "romfs.img"
        img.write_bytes(image)
        argv = board.argv(img)
        argv[argv.index("-kernel") + 1] = str(firmware)
        listing = ", ".join(f"({job.module!r}, {len(job.inputs)})" for job in jobs)
        s = _Session(board, argv, tmp / "qemu.stderr")
        try:
            deadline = time.monotonic() + timeout
            s.start_script(f"import ulml_frozen_runner\nulml_frozen_runner.run('/rom', [{listing}])\n",
                           deadline, idle_timeout, "starting the runner", romfs=(board.romfs_addr, len(image)),
                           prelude="import vfs\ntry:\n    vfs.umount('/')\nexcept OSError:\n    pass\n")
            out = s.read_until(b"\x04", deadline, idle_timeout, "running the frozen models")[:-1]
            err = s.read_until(b"\x04", deadline, idle_timeout, "reading the runner's exit status")[:-1]
        finally:
            s.close()
    if err.strip():
        raise TargetError(f"{board_name}: the runner failed: {err.decode(errors='replace').strip()}")
    return _parse(jobs, out.decode(errors="replace"))


def _parse(jobs: list[FrozenJob], text: str) -> list[FrozenResult]:
    loads: dict[int, list[str]] = {}
    outs = {k: np.zeros((len(job.inputs), *job.output_shape), dtype=job.output_dtype) for k, job in enumerate(jobs)}
    counts = dict.fromkeys(range(len(jobs)), 0)
    errors: dict[int, str] = {}
    done = False
    for line in text.splitlines():
        parts = line.strip().split(" ", 3)
        if parts[0] == "ULML-LOAD":
            loads[int(parts[1])] = line.split()[2:]
        elif parts[0] == "ULML-OUT":
            k, i = int(parts[1]), int(parts[2])
            outs[k][i] = np.frombuffer(bytes.fromhex(parts[3]), dtype=jobs[k].output_dtype).reshape(
                jobs[k].output_shape)
            counts[k] += 1
        elif parts[0] == "ULML-ERR":
            errors[int(parts[1])] = " ".join(parts[2:])
        elif parts[0] == "ULML-DONE":
            done = True
    if not done:
        raise TargetError(f"the runner did not finish; board output: {text[-1500:]}")
    results = []
    for k, job in enumerate(jobs):
        if k in errors:
            raise TargetError(f"{job.module}: {errors[k]}")
        if k not in loads or counts[k] != len(job.inputs):
            raise TargetError(f"{job.module}: {counts[k]} of {len(job.inputs)} outputs; board output: {text[-1500:]}")
        mode, *nums = loads[k]
        addr, size, arena_c, arena, f0, f1, f2 = (int(v) for v in nums)
        results.append(FrozenResult(job.module, mode, addr, size, arena_c, arena, f0, f1, f2, outs[k]))
    return results
