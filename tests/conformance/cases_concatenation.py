"""CONCATENATION cases.

The model has one input x; the concatenated tensors are x itself (possibly several times),
constants, and activations computed from x (a RESHAPE that shares x's bytes, and PADs that
change the size along the concatenation axis, so inputs of different lengths come from
different arena buffers). Sweeps ranks 1..4, every axis (positive and negative), 2 to 10
inputs (TFLite Micro's maximum) and quantization (all operands share the output's scale and
zero point: TFLite Micro does not rescale int8).
"""

from __future__ import annotations

import numpy as np

from .builder import Case, ModelBuilder, options, random_int8, random_scale

KINDS = ["x", "const", "reshape", "pad"]


def make(rng: np.random.Generator, shape: tuple[int, ...], axis: int, kinds: list[str],
         q: tuple[float, int]) -> bytes:
    rank = len(shape)
    ax = axis + rank if axis < 0 else axis
    b = ModelBuilder()
    x = b.tensor(shape, "int8", *q)
    ins: list[int] = []
    for kind in kinds:
        if kind == "x":
            ins.append(x)
        elif kind == "const":
            s = list(shape)
            s[ax] = int(rng.integers(1, 4))
            ins.append(b.tensor(tuple(s), "int8", *q, data=random_int8(rng, tuple(s))))
        elif kind == "reshape":
            r = b.tensor(shape, "int8", *q)
            st = b.tensor((rank,), "int32", data=np.array(shape, dtype=np.int32))
            b.op("RESHAPE", [x, st], [r], options("ReshapeOptionsT", newShape=list(shape)))
            ins.append(r)
        else:
            pads = np.zeros((rank, 2), dtype=np.int32)
            pads[ax] = rng.integers(0, 3, size=2)
            s = list(shape)
            s[ax] += int(pads[ax].sum())
            p = b.tensor(tuple(s), "int8", *q)
            pt = b.tensor((rank, 2), "int32", data=pads)
            b.op("PAD", [x, pt], [p], options("PadOptionsT"))
            ins.append(p)
    total = sum(b.tensors[i].shape[ax] for i in ins)
    out_shape = list(shape)
    out_shape[ax] = total
    y = b.tensor(tuple(out_shape), "int8", *q)
    b.op("CONCATENATION", ins, [y], options("ConcatenationOptionsT", axis=axis))
    return b.build([x], [y])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for k in range(40):
        rank = k % 4 + 1
        shape = tuple(int(v) for v in rng.integers(1, 5, size=rank))
        axis = int(rng.integers(0, rank))
        if rng.random() < 0.3:
            axis -= rank
        n_in = int(rng.integers(2, 5)) if k < 30 else int(rng.integers(5, 11))
        kinds = ["x"] + [KINDS[int(rng.integers(0, len(KINDS)))] for _ in range(n_in - 1)]
        rng.shuffle(kinds)
        q = (random_scale(rng, 0.005, 0.1), int(rng.integers(-128, 128)))
        model = make(rng, shape, axis, kinds, q)
        out.append(Case(f"r{rank}_{'x'.join(map(str, shape))}_axis{axis}_{'-'.join(kinds)}_{k}", model,
                        random_int8(rng, (3, *shape))))
    return out
