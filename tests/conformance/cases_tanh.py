"""TANH cases: every int8 input value under input scales from tiny to huge (all radius and
shift regimes), zero points, shapes, and output quantizations other than 1/128, 0."""

from __future__ import annotations

import numpy as np

from .builder import Case, random_scale
from .unary import saturating_cases


def cases(rng: np.random.Generator) -> list[Case]:
    return saturating_cases(rng, "TANH", (1.0 / 128.0, 0),
                            lambda r: (random_scale(r, 0.001, 0.02), int(r.integers(-20, 20))))
