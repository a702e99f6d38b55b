"""TANH cases: every int8 input value under input scales from tiny to huge (all radius and
shift regimes), zero points, shapes, and output quantizations other than 1/128, 0."""

from __future__ import annotations

import numpy as np

from .builder import Case, ModelBuilder, random_int8, random_scale


def make(shape: tuple[int, ...], x_scale: float, x_zp: int, y_scale: float, y_zp: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, "int8", x_scale, x_zp)
    y = b.tensor(shape, "int8", y_scale, y_zp)
    b.op("TANH", [x], [y])
    return b.build([x], [y])


def all_values(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.stack([rng.permutation(np.arange(-128, 128)).astype(np.int8) for _ in range(n)])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for k, x_scale in enumerate([1e-8, 1e-6, 1e-4, 1e-3, 0.004, 0.01, 0.02, 0.03125, 0.05, 0.0625,
                                 0.1, 0.2, 0.5, 1.0, 3.0, 16.0, 100.0]):
        x_zp = int(rng.integers(-128, 128))
        out.append(Case(f"all_s{x_scale:g}_{k}", make((256,), float(np.float32(x_scale)), x_zp, 1.0 / 128.0, 0),
                        all_values(rng, 1)))
    for k in range(14):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
        x_scale = random_scale(rng, 0.002, 0.3)
        x_zp = int(rng.integers(-128, 128))
        y_scale, y_zp = (1.0 / 128.0, 0) if k % 3 else (random_scale(rng, 0.001, 0.02), int(rng.integers(-20, 20)))
        out.append(Case(f"r{rank}_s{x_scale:.4g}_{k}", make(shape, x_scale, x_zp, y_scale, y_zp),
                        random_int8(rng, (3,) + shape)))
    return out
