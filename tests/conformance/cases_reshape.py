"""RESHAPE, EXPAND_DIMS and SQUEEZE cases (all lowered to one byte-copy op).

Sweeps: RESHAPE with a constant shape tensor, with only the new_shape option, and with a
-1 in the shape tensor (TFLite Micro then uses the output tensor's shape); EXPAND_DIMS at
every position (positive and negative axis); SQUEEZE of listed dimensions and of all
size-1 dimensions; chains of reshapes (all sharing one buffer, the model input's); a reshape
between two ops (MAX_POOL_2D -> RESHAPE -> MEAN); and a reshape of a constant concatenated
with the input.
"""

from __future__ import annotations

import numpy as np

from .builder import PAD, Case, ModelBuilder, options, random_int8, random_scale


def _factor(rng: np.random.Generator, n: int, rank: int) -> tuple[int, ...]:
    """A random shape of the given rank with n elements."""
    dims = [1] * rank
    for p in _primes(n):
        dims[int(rng.integers(0, rank))] *= p
    return tuple(dims)


def _primes(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


def _q(rng: np.random.Generator) -> tuple[float, int]:
    return random_scale(rng, 0.005, 0.1), int(rng.integers(-128, 128))


def reshape_model(rng: np.random.Generator, shapes: list[tuple[int, ...]], style: str) -> bytes:
    """x of shapes[0] reshaped successively into shapes[1:]."""
    q = _q(rng)
    b = ModelBuilder()
    x = b.tensor(shapes[0], "int8", *q)
    cur = x
    for s in shapes[1:]:
        y = b.tensor(s, "int8", *q)
        if style == "option":
            b.op("RESHAPE", [cur], [y], options("ReshapeOptionsT", newShape=list(s)))
        else:
            spec = list(s)
            if style == "stretch":
                spec[int(rng.integers(0, len(s)))] = -1
            st = b.tensor((len(s),), "int32", data=np.array(spec, dtype=np.int32))
            b.op("RESHAPE", [cur, st], [y])
        cur = y
    return b.build([x], [cur])


def expand_model(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> bytes:
    q = _q(rng)
    rank = len(shape)
    pos = axis + rank + 1 if axis < 0 else axis
    out_shape = shape[:pos] + (1,) + shape[pos:]
    b = ModelBuilder()
    x = b.tensor(shape, "int8", *q)
    ax = b.tensor((1,), "int32", data=np.array([axis], dtype=np.int32))
    y = b.tensor(out_shape, "int8", *q)
    b.op("EXPAND_DIMS", [x, ax], [y], options("ExpandDimsOptionsT"))
    return b.build([x], [y])


def squeeze_model(rng: np.random.Generator, shape: tuple[int, ...], dims: list[int]) -> bytes:
    q = _q(rng)
    rank = len(shape)
    resolved = {d + rank if d < 0 else d for d in dims} if dims else {k for k, d in enumerate(shape) if d == 1}
    out_shape = tuple(d for k, d in enumerate(shape) if k not in resolved)
    b = ModelBuilder()
    x = b.tensor(shape, "int8", *q)
    y = b.tensor(out_shape, "int8", *q)
    b.op("SQUEEZE", [x], [y], options("SqueezeOptionsT", squeezeDims=dims))
    return b.build([x], [y])


def pool_reshape_mean(rng: np.random.Generator, h: int, w: int, c: int) -> bytes:
    """MAX_POOL_2D [1,h,w,c] -> RESHAPE [1, h*w, c] -> MEAN over axis 1 (keep_dims)."""
    q = _q(rng)
    b = ModelBuilder()
    x = b.tensor((1, h, w, c), "int8", *q)
    p = b.tensor((1, h, w, c), "int8", *q)
    b.op("MAX_POOL_2D", [x], [p], options("Pool2DOptionsT", padding=PAD["SAME"], strideH=1, strideW=1,
                                          filterHeight=2, filterWidth=2))
    r = b.tensor((1, h * w, c), "int8", *q)
    st = b.tensor((3,), "int32", data=np.array([1, h * w, c], dtype=np.int32))
    b.op("RESHAPE", [p, st], [r])
    ax = b.tensor((1,), "int32", data=np.array([1], dtype=np.int32))
    y = b.tensor((1, 1, c), "int8", *q)
    b.op("MEAN", [r, ax], [y], options("ReducerOptionsT", keepDims=True))
    return b.build([x], [y])


def const_reshape_concat(rng: np.random.Generator, n: int) -> bytes:
    """CONCATENATION(x [2, n], RESHAPE(const [n, 3] -> [3, n])) along axis 0."""
    q = _q(rng)
    b = ModelBuilder()
    x = b.tensor((2, n), "int8", *q)
    c = b.tensor((n, 3), "int8", *q, data=random_int8(rng, (n, 3)))
    r = b.tensor((3, n), "int8", *q)
    b.op("RESHAPE", [c], [r], options("ReshapeOptionsT", newShape=[3, n]))
    y = b.tensor((5, n), "int8", *q)
    b.op("CONCATENATION", [x, r], [y], options("ConcatenationOptionsT", axis=0))
    return b.build([x], [y])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    styles = ["tensor", "option", "stretch"]
    for k in range(15):
        n = int(rng.choice([1, 6, 12, 24, 30, 36, 60, 64]))
        chain = 1 if k < 9 else int(rng.integers(2, 4))
        shapes = [_factor(rng, n, int(rng.integers(1, 5))) for _ in range(chain + 1)]
        style = styles[k % 3]
        model = reshape_model(rng, shapes, style)
        name = "_".join("x".join(map(str, s)) for s in shapes)
        out.append(Case(f"reshape_{style}_{name}_{k}", model, random_int8(rng, (3, *shapes[0]))))
    for k in range(8):
        rank = k % 3 + 1
        shape = tuple(int(v) for v in rng.integers(1, 6, size=rank))
        axis = int(rng.integers(-rank - 1, rank + 1))
        out.append(Case(f"expand_dims_{'x'.join(map(str, shape))}_axis{axis}_{k}", expand_model(rng, shape, axis),
                        random_int8(rng, (3, *shape))))
    squeeze_specs: list[tuple[tuple[int, ...], list[int]]] = [
        ((1, 1, 1, 7), [1, 2]), ((1, 1, 1, 7), []), ((3, 1, 4), [1]), ((3, 1, 4), [-2]),
        ((1, 5), [0]), ((2, 1, 1, 3), []), ((1, 1, 1, 1), [0, 3]),
    ]
    for k, (shape, dims) in enumerate(squeeze_specs):
        out.append(Case(f"squeeze_{'x'.join(map(str, shape))}_{'_'.join(map(str, dims)) or 'all'}_{k}",
                        squeeze_model(rng, shape, dims), random_int8(rng, (3, *shape))))
    for k in range(3):
        h, w, c = (int(v) for v in rng.integers(1, 6, size=3))
        out.append(Case(f"pool_reshape_mean_{h}x{w}x{c}_{k}", pool_reshape_mean(rng, h, w, c),
                        random_int8(rng, (3, 1, h, w, c))))
    for k in range(2):
        n = int(rng.integers(1, 6))
        out.append(Case(f"const_reshape_concat_{n}_{k}", const_reshape_concat(rng, n), random_int8(rng, (3, 2, n))))
    return out
