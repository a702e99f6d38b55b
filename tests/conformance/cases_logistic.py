"""LOGISTIC cases: every int8 input value under input scales from tiny to huge (all radius
and shift regimes), zero points, shapes, and output scales other than 1/256."""

from __future__ import annotations

import numpy as np

from .builder import Case, random_scale
from .unary import saturating_cases


def cases(rng: np.random.Generator) -> list[Case]:
    # TFLite Micro requires output zero point -128.
    return saturating_cases(rng, "LOGISTIC", (1.0 / 256.0, -128), lambda r: (random_scale(r, 0.001, 0.02), -128))
