"""HARD_SWISH cases: every int8 input value under many input/output scale pairs (reluish
multiplier shifting left and right, output multipliers from near 1 down to tiny), zero
points and shapes."""

from __future__ import annotations

import numpy as np

from .builder import Case, random_int8, random_scale
from .unary import all_values, f32, unary_model


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # Typical: output range about the positive part of the input range.
    for k in range(20):
        x_scale = random_scale(rng, 0.005, 0.2)
        y_scale = f32(x_scale * rng.uniform(0.4, 1.5))
        x_zp = int(rng.integers(-128, 128))
        y_zp = int(rng.integers(-128, -60)) if k % 2 else int(rng.integers(-128, 128))
        out.append(Case(f"all_s{x_scale:.4g}_o{y_scale:.4g}_{k}",
                        unary_model("HARD_SWISH", (256,), x_scale, x_zp, y_scale, y_zp), all_values(rng, 1)))
    # Extreme scale pairs: reluish exponent large positive / negative, output exponent 0
    # (output multiplier just below 1), tiny output multipliers (shifts of 16 and more).
    pairs = [(1e-8, 1e-8), (1e-6, 1e-5), (3e-4, 1e-3), (0.05, 1e-3), (0.5, 0.004), (2.0, 0.0157),
             (20.0, 0.2), (300.0, 3.0), (0.01, 0.5), (0.01, 20.0), (0.02, 5000.0), (0.1, 0.1)]
    for k, (x_scale, y_scale) in enumerate(pairs):
        x_zp, y_zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
        out.append(Case(f"extreme_s{x_scale:g}_o{y_scale:g}_{k}",
                        unary_model("HARD_SWISH", (256,), f32(x_scale), x_zp, f32(y_scale), y_zp), all_values(rng, 1)))
    for k in range(8):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
        x_scale = random_scale(rng, 0.01, 0.1)
        y_scale = f32(x_scale * rng.uniform(0.5, 1.2))
        out.append(Case(f"r{rank}_{k}", unary_model("HARD_SWISH", shape, x_scale, int(rng.integers(-128, 128)),
                                                    y_scale, int(rng.integers(-128, 0))),
                        random_int8(rng, (3,) + shape)))
    return out
