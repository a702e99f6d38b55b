"""Will a model fit a board? Flash and RAM per weights mode against the board's budget, and an
estimated latency: instructions per inference (counted by `ulab-ml bench` on the QEMU board of
the board's architecture, board.json "bench_target", or given) at the board's clock, assuming
one instruction per cycle. An estimate from instruction counts, not a cycle measurement: QEMU
models no pipeline, wait states or memory latency."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .blob import Blob, ram_per_mode
from .paths import CACHE, DEVICE_PACKAGE, NATMOD_DIR, ROOT, natmod_path

BOARDS_DIR = ROOT / "boards"
# Heap `import ulab_ml` takes on a board: the native module's .mpy is loaded into the heap
# (its code and data), plus about 4 KB for the package's own bytecode and objects. Measured
# on qemu-m0: 196,864 bytes free at boot, 156,700 after the import, with a 36,099-byte .mpy.
PACKAGE_HEAP = 4096
IMPORT_COST_FALLBACK = 40_000
# A model needing more than this share of the available heap may still fail to load when the
# heap is fragmented (its arena and buffers need contiguous blocks): reported as "tight".
TIGHT = 0.75
PACKAGE_FILE = DEVICE_PACKAGE / "__init__.py"


@dataclass
class Board:
    name: str
    description: str
    arch: str
    clock_hz: int | None
    free_heap_bytes: int
    flash_bytes: int | None   # None: not a limit (emulated boards whose images sit in PSRAM)
    natmod: str
    bench_target: str | None = None  # QEMU board of the same architecture that `ulab-ml bench` runs on


def boards() -> list[str]:
    return sorted(p.parent.name for p in BOARDS_DIR.glob("*/board.json"))


def load_board(name: str) -> Board:
    path = BOARDS_DIR / name / "board.json"
    if not path.exists():
        raise KeyError(f"unknown board {name!r} (known: {', '.join(boards())})")
    d = json.loads(path.read_text())
    flash = d.get("flash_bytes")
    return Board(d["name"], d.get("description", ""), d["arch"], d.get("clock_hz"), int(d["free_heap_bytes"]),
                 None if flash is None else int(flash), d["natmod"], d.get("bench_target"))


def import_cost(board: Board, mpy: Path | None = None) -> int:
    """Heap taken by `import ulab_ml` and its native module (code is loaded into the heap); mpy:
    the module to count (default: the one ULAB_ML_NATMOD_DIR names)."""
    mpy = natmod_path(board.arch) if mpy is None else mpy
    if not mpy.exists():
        return IMPORT_COST_FALLBACK
    return mpy.stat().st_size + PACKAGE_HEAP


def measure_instructions(board: Board, name: str, blob: bytes, seed: int = 0) -> int:
    """Instructions per inference (one infer() call, weights in place) counted by `ulab-ml bench`
    on the board's bench_target. TargetError if QEMU fails, ValueError if the model is rejected."""
    from .bench import bench_models

    if board.bench_target is None:
        raise ValueError(f"boards/{board.name}/board.json names no bench_target (QEMU board) to measure on")
    (result,) = bench_models(board.bench_target, [(name, blob)], seed=seed)
    if result.error or result.instructions is None:
        raise ValueError(result.error or "no instruction count")
    return int(result.instructions)


CMSIS_NATMOD_DIR = CACHE / "natmod-cmsis"  # scripts/build_natmod.sh's output with CMSIS_NN_DIR


def cmsis_nn_build_in_use() -> bool:
    """ULAB_ML_NATMOD_DIR names the CMSIS-NN build's directory (scripts/build_natmod.sh with
    CMSIS_NN_DIR writes .cache/natmod-cmsis/): the host tools run and size that build."""
    return NATMOD_DIR == CMSIS_NATMOD_DIR.absolute()


def module_for(board: Board, cmsis_nn: bool) -> Path:
    """The native module whose size counts: ULAB_ML_NATMOD_DIR's, except that with cmsis_nn and
    ULAB_ML_NATMOD_DIR left at the default build, the CMSIS-NN build's in .cache/natmod-cmsis if
    it is there (the default build's size would understate the import)."""
    mpy = natmod_path(board.arch)
    cmsis = CMSIS_NATMOD_DIR / mpy.name
    if cmsis_nn and NATMOD_DIR == (CACHE / "natmod").absolute() and cmsis.exists():
        return cmsis
    return mpy


def fit_report(blob: Blob, board: Board, instructions: int | None = None,
               instructions_source: str = "given", cmsis_nn: bool = False) -> dict:
    """instructions: per inference, for the latency estimate; instructions_source says where
    the figure comes from (e.g. "counted by ulab-ml bench on qemu-m0", "given with --instructions").
    cmsis_nn: the board runs the CMSIS-NN build (docs/CMSIS_NN.md), whose arena has CMSIS-NN's
    scratch at its tail (for the board's architecture); implied by cmsis_nn_build_in_use()."""
    cmsis = None
    if cmsis_nn or cmsis_nn_build_in_use():
        from dataclasses import replace

        from .cmsis_nn import cmsis_nn_arena_size
        arena = cmsis_nn_arena_size(blob, board.arch)
        cmsis = {"why": "--cmsis-nn" if cmsis_nn else f"ULAB_ML_NATMOD_DIR={NATMOD_DIR}",
                 "arch": board.arch, "arena_bytes": arena, "planned_arena_bytes": blob.arena_size,
                 "scratch_tail_bytes": arena - blob.arena_size,
                 "native_module": str(module_for(board, cmsis_nn))}
        blob = replace(blob, arena_size=arena)
    ram = ram_per_mode(blob)
    mpy = module_for(board, cmsis_nn)
    avail = board.free_heap_bytes - import_cost(board, mpy)
    code_flash = (mpy.stat().st_size if mpy.exists() else 0) + PACKAGE_FILE.stat().st_size
    modes = {}
    for mode, need in ram.items():
        verdict = "yes" if need <= TIGHT * avail else ("tight" if need <= avail else "no")
        modes[mode] = {"ram_bytes": need, "ram": verdict, "flash_bytes": blob.size + code_flash}
    modes["inplace"]["note"] = "weights must be frozen into the firmware or in ROMFS"
    out = {
        "board": board.name,
        "description": board.description,
        "heap_available_bytes": avail,
        "flash_bytes": board.flash_bytes,
        "modes": modes,
        "fits": {m: v["ram"] if board.flash_bytes is None or v["flash_bytes"] <= board.flash_bytes else "no"
                 for m, v in modes.items()},
    }
    if cmsis is not None:
        out["cmsis_nn"] = cmsis
    if instructions is not None and board.clock_hz:
        out["instructions_per_inference"] = instructions
        out["instructions_source"] = instructions_source
        out["clock_hz"] = board.clock_hz
        out["estimated_ms_per_inference"] = round(instructions / board.clock_hz * 1000, 2)
        out["estimate_basis"] = (f"{instructions} instructions per inference, {instructions_source}, at "
                                 f"{board.clock_hz / 1e6:g} MHz assuming one instruction per cycle: an "
                                 "estimate from an instruction count, not measured cycles")
    return out


def boards_help() -> str:
    return ", ".join(boards())

