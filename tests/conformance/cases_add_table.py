"""ADD and SUB of two operands of the output's shape with at least 256 elements: the armv6m
path that looks a rescaled input up in a table of all int8 values (uml_add_sub_fast). The
exhaustive cases run every pair of int8 operands element-wise (input [16, 256] op constant
[16, 256], 16 inferences); others cover 256 elements (the path's threshold) and 255 (below
it), with random scales, zero points and fused activations, and output shifts 0 (outside the
path) and 25. Expected outputs come from the TFLite Micro oracle."""

from __future__ import annotations

import numpy as np

from .builder import ACT, Case, ModelBuilder, options, random_int8
from .cases_add import ACTS, OPTIONS, PRECISION_SENSITIVE, _scales, _zero_point


def _model(op: str, shape: tuple[int, ...], const: np.ndarray, s1: float, s2: float, so: float, z1: int, z2: int,
           zo: int, act: str) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, "int8", s1, z1)
    c = b.tensor(shape, "int8", s2, z2, data=const)
    y = b.tensor(shape, "int8", so, zo)
    b.op(op, [x, c], [y], options(OPTIONS[op], fusedActivationFunction=ACT[act]))
    return b.build([x], [y])


def _op_cases(rng: np.random.Generator, op: str) -> list[Case]:
    out: list[Case] = []
    const = np.tile(np.arange(-128, 128, dtype=np.int8), (16, 1))
    pairs = np.repeat(np.arange(-128, 128, dtype=np.int8).reshape(16, 16, 1), 256, axis=2)
    quants = [q + ("NONE",) for q in PRECISION_SENSITIVE[op]]
    for k in range(4):
        s1, s2, so = _scales(rng, op)
        quants.append((s1, s2, so, _zero_point(rng), _zero_point(rng), _zero_point(rng, output=True), ACTS[k]))
    for k, q in enumerate(quants):
        out.append(Case(f"{op.lower()}_pairs_{q[-1]}_{k}", _model(op, (16, 256), const, *q), pairs))
    for n in (256, 255, 1024):
        s1, s2, so = _scales(rng, op)
        act = ACTS[int(rng.integers(0, len(ACTS)))]
        q = (s1, s2, so, _zero_point(rng), _zero_point(rng), _zero_point(rng, output=True), act)
        shape = (1, n // 16, 16) if n % 16 == 0 else (n,)
        model = _model(op, shape, random_int8(rng, shape), *q)
        out.append(Case(f"{op.lower()}_n{n}_{act}", model, random_int8(rng, (2, *shape))))
    # Output shift 0 (a multiplier of at least 1/2: tiny output scale; outside the path, which
    # needs a right shift of at least 2) and a right shift of 25 with output zero point 100.
    for label, so, zo in (("shift0", 2.5e-8, 0), ("shift25", 0.64, 100)):
        q = (0.01, 0.01, so, int(rng.integers(-128, 128)), int(rng.integers(-128, 128)), zo, "NONE")
        model = _model(op, (16, 256), const, *q)
        out.append(Case(f"{op.lower()}_{label}", model, random_int8(rng, (2, 16, 256))))
    return out


def cases(rng: np.random.Generator) -> list[Case]:
    return _op_cases(rng, "ADD") + _op_cases(rng, "SUB")
