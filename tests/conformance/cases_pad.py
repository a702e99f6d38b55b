"""PAD and PADV2 cases.

Sweeps: ranks 1..4, paddings 0..3 on either side of each dimension (including none at all,
only the batch/channel dimensions, and image-style spatial padding), PAD (pad value = the
output zero point, including an output zero point different from the input's) and PADV2
with a constant pad value, and pads feeding another op (PAD -> MAX_POOL_2D, as models pad
explicitly before a VALID pooling or convolution).
"""

from __future__ import annotations

import numpy as np

from .builder import PAD, Case, ModelBuilder, options, random_int8, random_scale


def make(shape: tuple[int, ...], pads: np.ndarray, x_q: tuple[float, int], y_q: tuple[float, int],
         v2_value: int | None = None, pool_after: bool = False) -> bytes:
    out_shape = tuple(int(d + pads[k, 0] + pads[k, 1]) for k, d in enumerate(shape))
    b = ModelBuilder()
    x = b.tensor(shape, "int8", *x_q)
    p = b.tensor((len(shape), 2), "int32", data=pads.astype(np.int32))
    y = b.tensor(out_shape, "int8", *y_q)
    if v2_value is None:
        b.op("PAD", [x, p], [y], options("PadOptionsT"))
    else:
        cv = b.tensor((), "int8", *y_q, data=np.array(v2_value, dtype=np.int8))
        b.op("PADV2", [x, p, cv], [y], options("PadV2OptionsT"))
    if not pool_after:
        return b.build([x], [y])
    n, h, w, c = out_shape
    z = b.tensor((n, h - 1, w - 1, c), "int8", *y_q)
    b.op("MAX_POOL_2D", [y], [z], options("Pool2DOptionsT", padding=PAD["VALID"], strideH=1, strideW=1,
                                          filterHeight=2, filterWidth=2))
    return b.build([x], [z])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for k in range(36):
        rank = k % 4 + 1
        shape = tuple(int(v) for v in rng.integers(1, 6, size=rank))
        pattern = (k // 4) % 3
        if pattern == 0:                          # anything
            pads = rng.integers(0, 4, size=(rank, 2))
        elif pattern == 1:                        # some dimensions untouched
            pads = rng.integers(0, 4, size=(rank, 2)) * rng.integers(0, 2, size=(rank, 1))
        else:                                     # image style (spatial dims of 4-D) or one side
            pads = np.zeros((rank, 2), dtype=np.int64)
            if rank == 4:
                pads[1:3] = rng.integers(0, 4, size=(2, 2))
            else:
                pads[int(rng.integers(0, rank)), int(rng.integers(0, 2))] = int(rng.integers(1, 4))
        xs = random_scale(rng, 0.005, 0.1)
        xz = int(rng.integers(-128, 128))
        yz = xz if rng.random() < 0.7 else int(rng.integers(-128, 128))
        v2 = int(rng.integers(-128, 128)) if k % 3 == 2 else None
        model = make(shape, pads, (xs, xz), (xs, yz), v2)
        kind = "padv2" if v2 is not None else "pad"
        out.append(Case(f"{kind}_r{rank}_{'x'.join(map(str, shape))}_p{''.join(map(str, pads.reshape(-1)))}_{k}",
                        model, random_int8(rng, (3, *shape))))
    # No padding at all, and a large pad around a single element.
    for k, (shape, pads) in enumerate([((2, 3), np.zeros((2, 2), np.int64)),
                                       ((1, 1, 1, 1), np.array([[0, 0], [5, 4], [3, 6], [0, 0]]))]):
        xq = (random_scale(rng), int(rng.integers(-128, 128)))
        out.append(Case(f"special_{k}", make(shape, pads, xq, xq), random_int8(rng, (2, *shape))))
    # PAD then a VALID max pool (explicit padding): the pool sees the pad value.
    for k in range(4):
        shape = (1, *(int(v) for v in rng.integers(2, 7, size=2)), int(rng.integers(1, 5)))
        pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]])
        xq = (random_scale(rng), int(rng.integers(-128, 128)))
        v2 = int(rng.integers(-128, 128)) if k % 2 else None
        out.append(Case(f"pad_then_pool_{k}", make(shape, pads, xq, xq, v2, pool_after=True),
                        random_int8(rng, (3, *shape))))
    return out
