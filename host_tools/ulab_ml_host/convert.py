"""The converter pipeline: .tflite bytes -> read -> lower -> plan -> pack -> blob bytes; and the
blob wrapped in a MicroPython .mpy module (`ulab-ml convert --format mpy`)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .lowering import LoweredModel, lower
from .mpyfile import constants_module
from .pack import pack
from .plan import MemoryPlan, plan_memory
from .tflite_reader import Graph, read_tflite


@dataclass
class Conversion:
    graph: Graph
    model: LoweredModel
    plan: MemoryPlan
    blob: bytes


def convert(tflite: bytes) -> Conversion:
    graph = read_tflite(tflite)
    model = lower(graph)
    plan = plan_memory(model)
    return Conversion(graph, model, plan, pack(model, plan))


def blob_module(blob: bytes, module: str, source: str) -> bytes:
    """A .mpy module (file `module`.mpy) holding the blob: `MODEL` (bytes, the blob), `SOURCE`
    (str, the converted file's name) and `ARENA_SIZE` (int, bytes of RAM the arena takes at
    load). `Model.load(module)` or `Model.load(module.MODEL)` loads it. Frozen into a firmware,
    MODEL stays in flash and is used in place; imported from a filesystem, it is read into RAM
    once by the import (docs/MEMORY.md)."""
    if not module.isidentifier():
        raise ValueError(f"module name {module!r} is not a Python identifier")
    arena = struct.unpack_from("<I", blob, 24)[0]
    return constants_module([("MODEL", blob), ("SOURCE", source), ("ARENA_SIZE", arena)], f"{module}.py")
