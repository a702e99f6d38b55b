"""SOFTMAX (int8 -> int8): TFLite Micro reference_ops::Softmax for quantized types.

Prepare (softmax_common.cc, CalculateSoftmaxParams) requires an int8 output with zero point
-128 and scale exactly 1/256, and computes with 5 integer bits for the scaled difference:
  input_multiplier, input_left_shift = PreprocessSoftmaxScaling(beta, input_scale, 5)
    = QuantizeMultiplierGreaterThanOne(min(beta * input_scale * 2^26, 2^31 - 1)), which
      requires its argument to exceed 1 (TFLite Micro aborts otherwise: beta = 0 is rejected)
  diff_min = -CalculateInputRadius(5, input_left_shift) = -floor(31 * 2^26 / 2^input_left_shift)
all in double precision from the float32 beta and scale.
"""

from __future__ import annotations

import math

import numpy as np

from ..quant import quantize_multiplier
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register
from .common import check_unary

SCALED_DIFF_INTEGER_BITS = 5


def softmax_params(beta: float, input_scale: float) -> list[int]:
    """[input_multiplier, input_left_shift, diff_min] as TFLite Micro's Prepare computes them."""
    real = min(float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    if not (math.isfinite(real) and real > 1.0):
        # QuantizeMultiplierGreaterThanOne: TFLite Micro aborts in Prepare.
        raise Unsupported(f"beta * input scale = {float(beta) * float(input_scale)!r} is too small "
                          "(TFLite Micro requires beta * input_scale * 2^26 > 1)")
    mult, shift = quantize_multiplier(real)
    radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS))
                        / float(1 << shift))
    return [mult, shift, -radius]


@register("SOFTMAX")
def lower_softmax(ctx: LowerCtx, op: Op) -> None:
    x, y = check_unary(ctx, op)
    if len(x.shape) < 1:
        raise Unsupported("softmax of a scalar")
    if y.zero_point != -128 or np.float32(y.scale) != np.float32(1.0) / np.float32(256.0):
        raise Unsupported(f"output quantization (scale {y.scale!r}, zero point {y.zero_point}) must be "
                          "scale 1/256 and zero point -128 (TFLite Micro rejects others)")
    if op.options is None or not hasattr(op.options, "beta"):
        raise Unsupported("SOFTMAX without options (beta)")
    beta = np.float32(op.options.beta)
    params = softmax_params(float(beta), float(np.float32(x.scale)))
    ctx.emit("SOFTMAX", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]), params)
