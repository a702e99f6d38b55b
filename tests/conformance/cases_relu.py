"""RELU and RELU6 cases: every int8 input value under equal and different
input/output quantizations (scale ratios well below and above 1), zero points and shapes."""

from __future__ import annotations

import numpy as np

from .builder import Case, random_int8, random_scale
from .unary import all_values, f32, unary_model


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    for op, n_same, n_diff in (("RELU", 6, 16), ("RELU6", 6, 12)):
        for k in range(n_same + n_diff):
            x_scale = random_scale(rng, 0.002, 0.1)
            x_zp = int(rng.integers(-128, 128))
            if k < n_same:
                y_scale, y_zp = x_scale, x_zp
            else:
                y_scale = f32(x_scale * np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
                y_zp = int(rng.integers(-128, 128))
            out.append(Case(f"{op.lower()}_s{x_scale:.4g}_o{y_scale:.4g}_{k}",
                            unary_model(op, (256,), x_scale, x_zp, y_scale, y_zp), all_values(rng, 1)))
    # Large scales (RELU6 clamp at 6.0 falls inside the int8 range), and shapes.
    for k, op in enumerate(["RELU6", "RELU6", "RELU", "RELU"]):
        x_scale = f32([0.05, 0.1, 0.5, 2.0][k])
        out.append(Case(f"{op.lower()}_big_s{x_scale:g}_{k}",
                        unary_model(op, (256,), x_scale, int(rng.integers(-128, 0)), f32(x_scale * 0.7), -128),
                        all_values(rng, 1)))
    for k in range(6):
        op = ["RELU", "RELU6"][k % 2]
        rank = int(rng.integers(1, 5))
        shape = tuple(int(rng.integers(1, 6)) for _ in range(rank))
        x_scale = random_scale(rng, 0.01, 0.1)
        out.append(Case(f"{op.lower()}_r{rank}_{k}",
                        unary_model(op, shape, x_scale, int(rng.integers(-128, 128)),
                                    f32(x_scale * rng.uniform(0.5, 2.0)), int(rng.integers(-128, 128))),
                        random_int8(rng, (3,) + shape)))
    return out
