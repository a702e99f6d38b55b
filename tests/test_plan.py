"""The memory plan never lets two tensors that are alive together share bytes, except a
RESHAPE output with its input and an op's output with the input it reads for the last time
(written row by row behind the reads, overlap_distance); and it is no larger than TFLite
Micro's planned activation memory on the shared models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conformance.test_conformance import CASES
from tests.conftest import ROOT, SEED, SHARED_MODELS
from ulab_ml_host import memreport
from ulab_ml_host.convert import convert
from ulab_ml_host.memreport import tflm_arena
from ulab_ml_host.plan import overlap_distance


def check_plan(tflite: bytes) -> int:
    conv = convert(tflite)
    model, plan = conv.model, conv.plan
    n = len(model.ops)
    life: dict[int, list[int]] = {t: [-1, -1] for t in model.inputs}
    for i, op in enumerate(model.ops):
        for t in op.inputs:
            if t is not None and model.tensors[t].const is None:
                life[t][1] = i
        life.setdefault(op.output, [i, i])
        life[op.output][1] = max(life[op.output][1], i)
    for t in model.outputs:
        life[t][1] = n
    allowed: set[tuple[int, int]] = set()
    root: dict[int, int] = {}  # RESHAPE alias chains: tensor -> first tensor of its chain
    for op in model.ops:
        if op.opcode == "RESHAPE" and op.inputs[0] is not None and model.tensors[op.inputs[0]].const is None:
            root[op.output] = root.get(op.inputs[0], op.inputs[0])
        ov = overlap_distance(op, model.tensors)
        if ov is not None:
            tin = op.inputs[ov[0]]
            allowed.add((tin, op.output))
            if plan.tensor_offsets[op.output] < plan.tensor_offsets[tin] + model.tensors[tin].nbytes and \
                    plan.tensor_offsets[tin] < plan.tensor_offsets[op.output] + model.tensors[op.output].nbytes:
                # Overlapping: the output must start at least D bytes before the input.
                assert plan.tensor_offsets[op.output] <= plan.tensor_offsets[tin] - ov[1]
    ids = sorted(life)
    for a in ids:
        ta, oa = model.tensors[a], plan.tensor_offsets[a]
        assert oa % 16 == 0 and oa + ta.nbytes <= plan.arena_size
        for b in ids:
            if b <= a:
                continue
            tb, ob = model.tensors[b], plan.tensor_offsets[b]
            live_together = life[a][0] <= life[b][1] and life[b][0] <= life[a][1]
            share = oa < ob + tb.nbytes and ob < oa + ta.nbytes
            if live_together and share:
                aliases = root.get(a, a) == root.get(b, b) and oa == ob
                assert aliases or (a, b) in allowed or (b, a) in allowed, (a, b)
    return plan.arena_size


def test_plans_of_generated_models_are_sound() -> None:
    rng = np.random.default_rng(SEED)
    for k in rng.choice(len(CASES), size=min(150, len(CASES)), replace=False):
        check_plan(CASES[int(k)].model)


SHARED = sorted(p for p in SHARED_MODELS.glob("*/*.tflite") if p.parent.name != "unsupported")


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_shared_model_plan_sound_and_no_larger_than_tflm(path: Path) -> None:
    arena = check_plan(path.read_bytes())
    tflm = tflm_arena(path)
    assert tflm is not None
    assert arena <= tflm[0], f"arena {arena} > TFLite Micro head {tflm[0]}"



def test_memory_doc_is_what_memreport_writes() -> None:
    """docs/MEMORY.md is generated (python -m ulab_ml_host.memreport): an edit by hand, or a change
    to the RAM figures without regenerating, shows here."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}: docs/MEMORY.md not compared")
    doc = (ROOT / "docs" / "MEMORY.md").read_text()
    assert memreport.render(memreport.rows(SHARED_MODELS)) == doc, \
        "docs/MEMORY.md differs from what `python -m ulab_ml_host.memreport` writes: regenerate it"
