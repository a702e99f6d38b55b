"""MEAN cases.

Sweeps: the spatial mean of a 4-D feature map (axes [1, 2], keep_dims true and false, as
in the emlearn MNIST model and global-average-pooling heads), every other axis subset of
ranks 1..4, negative and repeated axes, a scalar axis tensor, large reduction counts (where
TFLite clamps the 1/count shift), and quantization: equal input/output scale and zero point,
equal scale with different zero points, and output/input scale ratios from 1/8 to 8.
"""

from __future__ import annotations

import itertools

import numpy as np

from .builder import Case, ModelBuilder, options, random_int8, random_scale


def make(shape: tuple[int, ...], axes: list[int], keep_dims: bool, x_q: tuple[float, int],
         y_q: tuple[float, int], scalar_axis: bool = False) -> bytes:
    rank = len(shape)
    resolved = {a + rank if a < 0 else a for a in axes}
    if keep_dims:
        out_shape = tuple(1 if k in resolved else d for k, d in enumerate(shape))
    else:
        out_shape = tuple(d for k, d in enumerate(shape) if k not in resolved)
    b = ModelBuilder()
    x = b.tensor(shape, "int8", *x_q)
    axis_data = np.array(axes[0] if scalar_axis else axes, dtype=np.int32)
    ax = b.tensor(() if scalar_axis else (len(axes),), "int32", data=axis_data)
    y = b.tensor(out_shape, "int8", *y_q)
    b.op("MEAN", [x, ax], [y], options("ReducerOptionsT", keepDims=keep_dims))
    return b.build([x], [y])


def _quant(rng: np.random.Generator, kind: str) -> tuple[tuple[float, int], tuple[float, int]]:
    xs = random_scale(rng, 0.005, 0.1)
    xz = int(rng.integers(-128, 128))
    if kind == "same":
        return (xs, xz), (xs, xz)
    if kind == "same_scale":
        return (xs, xz), (xs, int(rng.integers(-128, 128)))
    ratio = float(np.exp(rng.uniform(np.log(1 / 8), np.log(8))))
    return (xs, xz), (float(np.float32(xs * ratio)), int(rng.integers(-60, 61)))


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    quant_kinds = ["same", "same_scale", "ratio", "ratio"]
    # Spatial mean of feature maps.
    for k in range(16):
        n = int(rng.choice([1, 1, 2]))
        h, w = (int(v) for v in rng.integers(1, 10, size=2))
        c = int(rng.integers(1, 20))
        axes = [1, 2] if k % 3 else [2, 1]
        keep = bool(k % 2)
        xq, yq = _quant(rng, quant_kinds[k % 4])
        model = make((n, h, w, c), axes, keep, xq, yq)
        out.append(Case(f"spatial_{n}x{h}x{w}x{c}_{'keep' if keep else 'drop'}_{quant_kinds[k % 4]}_{k}",
                        model, random_int8(rng, (3, n, h, w, c))))
    # The MNIST model's MEAN exactly: [1, 2, 2, 18] -> [1, 18].
    model = make((1, 2, 2, 18), [1, 2], False, (0.04275938868522644, -128), (0.017145197838544846, -128))
    out.append(Case("mnist_head", model, random_int8(rng, (4, 1, 2, 2, 18))))
    # Every non-empty axis subset of ranks 1..4, random quantization.
    k = 0
    for rank in range(1, 5):
        for r in range(1, rank + 1):
            for subset in itertools.combinations(range(rank), r):
                shape = tuple(int(v) for v in rng.integers(1, 6, size=rank))
                axes = [a - rank if rng.random() < 0.3 else a for a in subset]
                rng.shuffle(axes)
                keep = bool(rng.random() < 0.5) or len(subset) == rank
                kind = quant_kinds[k % 4]
                xq, yq = _quant(rng, kind)
                model = make(shape, axes, keep, xq, yq)
                out.append(Case(f"r{rank}_axes{'_'.join(map(str, axes))}_{'keep' if keep else 'drop'}_{kind}_{k}",
                                model, random_int8(rng, (3, *shape))))
                k += 1
    # Repeated axes, a scalar axis tensor, and large counts (shift clamping).
    extra = [
        ((2, 3, 4), [1, -2], False, False),
        ((2, 3, 4), [2, 2, 0], True, False),
        ((3, 5, 4), [1], False, True),
        ((1, 40, 40, 2), [1, 2], True, False),
        ((1, 64, 64, 1), [1, 2], False, False),
        ((300, 2), [0], True, False),
    ]
    for k, (shape, axes, keep, scalar) in enumerate(extra):
        xq, yq = _quant(rng, ["ratio", "same"][k % 2])
        model = make(shape, axes, keep, xq, yq, scalar_axis=scalar)
        out.append(Case(f"extra_{'x'.join(map(str, shape))}_{k}", model, random_int8(rng, (2, *shape))))
    # Saturation: inputs far from the zero point with a shrinking output scale.
    model = make((1, 4, 4, 3), [1, 2], True, (0.05, 0), (0.01, 0))
    x = np.stack([np.full((1, 4, 4, 3), 127, np.int8), np.full((1, 4, 4, 3), -128, np.int8)])
    out.append(Case("saturate", model, x))
    return out
