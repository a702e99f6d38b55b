"""AVERAGE_POOL_2D and MAX_POOL_2D cases.

Sweeps: batches, input sizes (including 1x1 and non-square), channels, filter sizes
(1x1, non-square, larger than the input with SAME padding, a whole-image global pool),
strides (1..4, unequal, larger than the filter), SAME/VALID padding, the fused activations,
and quantization (random scales, extreme zero points). TFLite requires the output
quantization to equal the input's.
"""

from __future__ import annotations

import numpy as np

from .builder import ACT, PAD, Case, ModelBuilder, options, random_int8, random_scale

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


def out_size(padding: str, size: int, filt: int, stride: int) -> int:
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - filt) // stride + 1


def make(op: str, shape: tuple[int, int, int, int], filt: tuple[int, int], stride: tuple[int, int],
         padding: str, act: str, scale: float, zp: int) -> bytes:
    n, h, w, c = shape
    oh, ow = out_size(padding, h, filt[0], stride[0]), out_size(padding, w, filt[1], stride[1])
    b = ModelBuilder()
    x = b.tensor(shape, "int8", scale, zp)
    y = b.tensor((n, oh, ow, c), "int8", scale, zp)
    b.op(op, [x], [y], options("Pool2DOptionsT", padding=PAD[padding], strideH=stride[0], strideW=stride[1],
                                filterHeight=filt[0], filterWidth=filt[1], fusedActivationFunction=ACT[act]))
    return b.build([x], [y])


def _zero_point(rng: np.random.Generator) -> int:
    r = rng.random()
    if r < 0.15:
        return int(rng.choice([-128, 127]))
    return int(rng.integers(-100, 101))


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for k in range(56):
        op = "AVERAGE_POOL_2D" if k % 2 == 0 else "MAX_POOL_2D"
        padding = "SAME" if (k // 2) % 2 == 0 else "VALID"
        act = ACTS[(k // 4) % 4]
        n = int(rng.choice([1, 1, 1, 2]))
        h, w = (int(v) for v in rng.integers(1, 13, size=2))
        c = int(rng.integers(1, 9))
        if padding == "VALID":
            fh, fw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
            fh, fw = min(fh, 5), min(fw, 5)
        else:
            fh, fw = (int(v) for v in rng.integers(1, 7, size=2))  # may exceed the input
        sh, sw = (int(v) for v in rng.integers(1, 5, size=2))
        scale = random_scale(rng, 0.005, 0.1)
        zp = _zero_point(rng)
        model = make(op, (n, h, w, c), (fh, fw), (sh, sw), padding, act, scale, zp)
        short = "avg" if op == "AVERAGE_POOL_2D" else "max"
        out.append(Case(f"{short}_{padding}_{act}_n{n}_{h}x{w}x{c}_f{fh}x{fw}_s{sh}x{sw}_{k}", model,
                        random_int8(rng, (3, n, h, w, c))))
    # Global pooling over the whole image (as at the end of a classifier).
    for k, (h, w, c) in enumerate([(7, 7, 16), (5, 3, 4), (10, 10, 2), (1, 6, 3)]):
        op = "AVERAGE_POOL_2D" if k % 2 == 0 else "MAX_POOL_2D"
        model = make(op, (1, h, w, c), (h, w), (1, 1), "VALID", "NONE", random_scale(rng, 0.01, 0.1),
                     _zero_point(rng))
        out.append(Case(f"global_{op.lower()}_{h}x{w}x{c}_{k}", model, random_int8(rng, (3, 1, h, w, c))))
    # Constant-ish inputs: all cells at the extremes, so rounding and clamping show.
    for k, v in enumerate([-128, 127]):
        model = make("AVERAGE_POOL_2D", (1, 5, 5, 3), (2, 3), (2, 2), "SAME", "RELU", 0.05, -10)
        inputs = np.full((2, 1, 5, 5, 3), v, dtype=np.int8)
        inputs[1, 0, ::2, ::2, :] = -v - 1
        out.append(Case(f"avg_extreme_{v}_{k}", model, inputs))
    return out
