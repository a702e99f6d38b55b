"""Helpers shared by the case generators of one-input int8 ops (activations, requantization)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .builder import Case, ModelBuilder, random_int8, random_scale


def unary_model(op: str, shape: tuple[int, ...], x_scale: float, x_zp: int, y_scale: float, y_zp: int) -> bytes:
    """One op from an int8 input to an int8 output of the same shape."""
    b = ModelBuilder()
    x = b.tensor(shape, "int8", x_scale, x_zp)
    y = b.tensor(shape, "int8", y_scale, y_zp)
    b.op(op, [x], [y])
    return b.build([x], [y])


def all_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """n samples of shape (256,), each a permutation of all int8 values."""
    return np.stack([rng.permutation(np.arange(-128, 128)).astype(np.int8) for _ in range(n)])


def f32(v: float) -> float:
    return float(np.float32(v))


# Input scales from tiny to huge: all input radius and shift regimes of LOGISTIC and TANH.
SATURATING_SCALES = [1e-8, 1e-6, 1e-4, 1e-3, 0.004, 0.01, 0.02, 0.03125, 0.05, 0.0625, 0.1, 0.2, 0.5, 1.0, 3.0,
                     16.0, 100.0]


def saturating_cases(rng: np.random.Generator, op: str, y_q: tuple[float, int],
                     other_y_q: Callable[[np.random.Generator], tuple[float, int]]) -> list[Case]:
    """LOGISTIC / TANH cases: every input value across the whole range of scales (shift from
    about 0 to 30), then random shapes and zero points, every third with the output
    quantization other_y_q(rng) instead of y_q (the one the reference assumes)."""
    out: list[Case] = []
    for k, x_scale in enumerate(SATURATING_SCALES):
        x_zp = int(rng.integers(-128, 128))
        out.append(Case(f"all_s{x_scale:g}_{k}", unary_model(op, (256,), f32(x_scale), x_zp, *y_q),
                        all_values(rng, 1)))
    for k in range(14):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
        x_scale = random_scale(rng, 0.002, 0.3)
        x_zp = int(rng.integers(-128, 128))
        y_scale, y_zp = y_q if k % 3 else other_y_q(rng)
        out.append(Case(f"r{rank}_s{x_scale:.4g}_{k}", unary_model(op, shape, x_scale, x_zp, y_scale, y_zp),
                        random_int8(rng, (3,) + shape)))
    return out
