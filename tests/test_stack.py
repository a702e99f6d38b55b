"""How much C stack infer() takes on a board, against the budget docs/MEMORY.md states.

MicroPython checks its own stack use, but not a native module's: a kernel frame that runs past
the end of the C stack silently overwrites whatever lies below it (on an RP2040, core 0 has
8 KB of C stack; a `_thread` gets 4 KB unless given more). So every kernel keeps its frame
small, and this test holds infer() to STACK_BUDGET bytes below the caller's stack
pointer on qemu-m0 and qemu-m4: a probe fills the free stack below it with a pattern, calls
infer() once, and finds the deepest word that changed. The models: the single layers of the
benchmark (conv, depthwise, fully connected, pooling, softmax), element-wise ADD and SUB large
enough for their fast paths, and the shared models when ../shared/models is there.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.bench.layers import build_layers
from tests.conformance.builder import ModelBuilder, options, random_int8
from tests.conftest import SHARED_MODELS, build_qemu_boards
from tests.qemu_script import run_module
from ulab_ml_host.convert import convert

# Bytes of C stack infer() may take below the caller's stack pointer (docs/MEMORY.md, "C stack"):
# armv6m (RP2040: 8 KB on core 0) and armv7emsp (STM32F4: 16 KB). Both kernels' fastest paths
# lay out input windows on the stack (armv6m: 768 bytes for 4 pixels' values as words).
STACK_BUDGET = {"qemu-m0": 3072, "qemu-m4": 4608}
PAINT_GAP = 256      # the pattern starts this far below the probe's stack pointer
PAINT_BYTES = 6144   # and covers this much (the QEMU boards have 10 KB of C stack)

PROBE = """
import micropython
from ulab_ml import Model


@micropython.asm_thumb
def _sp():
    mov(r0, sp)


@micropython.viper
def paint(top: int, n: int):
    p = ptr32(top - n)
    for i in range(n // 4):
        p[i] = 0x1A5AA5A5


@micropython.viper
def depth(top: int, n: int) -> int:
    p = ptr32(top - n)
    for i in range(n // 4):
        if p[i] != 0x1A5AA5A5:
            return n - 4 * i
    return 0


def one(name, gap, n):
    m = Model.load(memoryview(open("/rom/" + name, "rb")))
    x = bytes(m.input_bytes)
    m.infer(x)
    top = _sp() - gap
    paint(top, n)
    m.infer(x)
    d = depth(top, n)
    print("STACK", name, d + gap if d else 0)
    m.close()


def run(names, gap, n):
    for name in names:
        one(name, gap, n)
"""


def _elementwise(op: str) -> bytes:
    rng = np.random.default_rng(11)
    b = ModelBuilder()
    x = b.tensor((1, 16, 16, 4), "int8", 0.05, -3)
    c = b.tensor((1, 16, 16, 4), "int8", 0.04, 7, data=random_int8(rng, (1, 16, 16, 4)))
    y = b.tensor((1, 16, 16, 4), "int8", 0.08, 2)
    b.op(op, [x, c], [y], options(f"{op.title()}OptionsT"))
    return b.build([x], [y])


def _models() -> dict[str, bytes]:
    models = {f"{k}.uml": convert(t).blob for k, t in build_layers().items()}
    models.update({f"{op.lower()}.uml": convert(_elementwise(op)).blob for op in ("ADD", "SUB")})
    for gj in sorted(SHARED_MODELS.glob("*/golden/golden.json")):  # the models with golden outputs
        p = gj.parent.parent / json.loads(gj.read_text())["model"]
        if p.stat().st_size < 400_000:  # not pretrainedResnet_large (490 KB, ResNet-8's kernels)
            models[f"{p.parent.name}.uml"] = convert(p.read_bytes()).blob
    return models


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m4"])
def test_infer_stays_within_the_stack_budget(target: str) -> None:
    build_qemu_boards(target)
    models = _models()
    lines = run_module(target, PROBE, f"probe.run({sorted(models)!r}, {PAINT_GAP}, {PAINT_BYTES})", models,
                       native=True)
    used = {p[1]: int(p[2]) for p in (line.split() for line in lines) if p[0] == "STACK"}
    assert sorted(used) == sorted(models)
    assert all(v > PAINT_GAP for v in used.values()), f"{target}: the pattern was not reached: {used}"
    over = {k: v for k, v in used.items() if v > STACK_BUDGET[target]}
    assert not over, f"{target}: infer() took more than {STACK_BUDGET[target]} bytes of C stack: {over} (all: {used})"
    if not SHARED_MODELS.is_dir():
        print(f"third-party model suite not found at {SHARED_MODELS}: stack checked on generated models only")
