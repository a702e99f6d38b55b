"""MUL cases: the int8 binary-op sweep of cases_add.py (shapes and broadcasts, constant
operand first or second, two activation operands, quantization, fused activations), with
output scales that make the output multiplier both below and above 1."""

from __future__ import annotations

import numpy as np

from .builder import Case
from .cases_add import binary_cases


def cases(rng: np.random.Generator) -> list[Case]:
    return binary_cases(rng, "MUL", 35, 6)
