"""Int8 activations: LOGISTIC, TANH, HARD_SWISH, RELU, RELU6.

Parameters are computed as TFLite Micro's Prepare functions do:
- LOGISTIC (logistic_common.cc) and TANH (tanh.cc): input_scale * 2^27 split by frexp into
  a Q31 multiplier and a left shift (x - zp in Q4.27 after the multiply), and the input
  range radius CalculateInputRadius(4, shift, 31) = floor(15 * 2^27 / 2^shift); beyond it
  the output saturates. LOGISTIC requires output zero point -128; both write the output on
  the scale the reference assumes (1/256 resp. 1/128) whatever the output tensor says.
- HARD_SWISH (hard_swish_common.cc): multipliers from the float32 scales, QuantizeMultiplier
  then rounded to 16 bits; the output exponent must be <= 0.
- RELU (activations_common.cc): double(float32(in_scale / out_scale)) requantization and
  clamp to [max(-128, out_zp), 127].
- RELU6: TFLite Micro does not requantize; it clamps x to [in_zp, quantized 6.0] of the
  input (FloatToQuantizedType) and writes it unchanged.
- A standalone RELU_N1_TO_1 op is not converted: TFLite Micro, our oracle, has no kernel for
  it (as a fused activation of other ops it is supported).
Both RELUs become our RELU op: clamp(out_off + MBQM(x + in_off, mult, shift), lo, hi).
"""

from __future__ import annotations

import math

import numpy as np

from ..quant import activation_range, quantize_multiplier, tflite_round
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register
from .common import check_unary, requant_multiplier

# Q4.27 input of the fixed-point logistic / tanh.
INPUT_INTEGER_BITS = 4
# Identity requantization for MultiplyByQuantizedMultiplier: x * 2^30 * 2^1 / 2^31 == x.
IDENTITY_MULTIPLIER, IDENTITY_SHIFT = 1 << 30, 1


# --- LOGISTIC, TANH ---------------------------------------------------------------------------

def sigmoid_tanh_params(input_scale: float, input_zero_point: int) -> list[int]:
    """[input_zero_point, input_range_radius, input_multiplier, input_left_shift]."""
    real = float(input_scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    mult = tflite_round(q * float(1 << 31))
    if not 0 < mult < (1 << 31):
        raise Unsupported(f"input scale {input_scale!r} gives multiplier {mult}")
    if shift < 0:
        # CalculateInputRadius shifts by a negative amount (undefined in the reference).
        raise Unsupported(f"input scale {input_scale!r} is too small")
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) * float(1 << (31 - INPUT_INTEGER_BITS))
                        / float(1 << shift))
    if radius == 0:
        # Every input saturates; the multiplier is never used.
        mult, shift = 0, 0
    return [input_zero_point, radius, mult, shift]


@register("LOGISTIC")
def lower_logistic(ctx: LowerCtx, op: Op) -> None:
    x, y = check_unary(ctx, op)
    if y.zero_point != -128:
        raise Unsupported(f"output zero point {y.zero_point} (TFLite Micro requires -128)")
    ctx.emit("LOGISTIC", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]),
             sigmoid_tanh_params(float(np.float32(x.scale)), x.zero_point))


@register("TANH")
def lower_tanh(ctx: LowerCtx, op: Op) -> None:
    x, _ = check_unary(ctx, op)
    ctx.emit("TANH", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]),
             sigmoid_tanh_params(float(np.float32(x.scale)), x.zero_point))


# --- HARD_SWISH -------------------------------------------------------------------------------

def downscale_to_int16(mult: int) -> int:
    """DownScaleInt32ToInt16Multiplier: round a Q31 multiplier to Q15."""
    if mult >= (1 << 31) - 1 - (1 << 15):
        return (1 << 15) - 1
    return (mult + (1 << 15)) >> 16


def hard_swish_params(input_scale: float, input_zero_point: int, output_scale: float,
                      output_zero_point: int) -> list[int]:
    """[input_zp, output_zp, reluish_mult16, reluish_exp, output_mult16, output_exp]."""
    with np.errstate(all="ignore"):
        hires_input_scale = np.float32(1.0 / 128.0) * np.float32(input_scale)
        reluish_scale = np.float32(3.0) / np.float32(32768.0)
        output_real = float(hires_input_scale / np.float32(output_scale))
        reluish_real = float(hires_input_scale / reluish_scale)
    if not (math.isfinite(output_real) and math.isfinite(reluish_real) and output_real > 0 and reluish_real > 0):
        raise Unsupported(f"scales {input_scale!r} / {output_scale!r} give no usable multiplier")
    out_mult, out_exp = quantize_multiplier(output_real)
    if out_exp > 0:
        raise Unsupported(f"input scale / 128 / output scale = {output_real!r} is not below 1 "
                          "(TFLite Micro rejects this in Prepare)")
    reluish_mult, reluish_exp = quantize_multiplier(reluish_real)
    if reluish_exp > 31:
        raise Unsupported(f"input scale {input_scale!r} is too large")
    return [input_zero_point, output_zero_point, downscale_to_int16(reluish_mult), reluish_exp,
            downscale_to_int16(out_mult), out_exp]


@register("HARD_SWISH")
def lower_hard_swish(ctx: LowerCtx, op: Op) -> None:
    x, y = check_unary(ctx, op)
    ctx.emit("HARD_SWISH", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]),
             hard_swish_params(float(x.scale), x.zero_point, float(y.scale), y.zero_point))


# --- RELU, RELU6 -----------------------------------------------------------------

def relu_requant(input_scale: float, output_scale: float) -> tuple[int, int]:
    """QuantizeMultiplier(double(float32(in_scale / out_scale)))."""
    with np.errstate(all="ignore"):
        real = float(np.float32(input_scale) / np.float32(output_scale))
    if not (math.isfinite(real) and real > 0):
        raise Unsupported(f"input/output scale ratio {real!r}")
    return requant_multiplier(real, "input/output scale ratio")


def relu6_range(input_scale: float, input_zero_point: int) -> tuple[int, int]:
    """TFLite Micro Relu6Prepare: [zp, FloatToQuantizedType<int8>(6.0f, scale, zp)]."""
    with np.errstate(all="ignore"):
        six_steps = np.float32(6.0) / np.float32(input_scale)
    if not (np.isfinite(six_steps) and six_steps < 2**30):
        raise Unsupported(f"input scale {input_scale!r} is too small for RELU6")
    six = min(127, max(-128, tflite_round(float(six_steps)) + input_zero_point))
    return input_zero_point, six


@register("RELU", "RELU6")
def lower_relu(ctx: LowerCtx, op: Op) -> None:
    x, y = check_unary(ctx, op)
    if op.name == "RELU6":
        lo, hi = relu6_range(float(x.scale), x.zero_point)
        params = [0, IDENTITY_MULTIPLIER, IDENTITY_SHIFT, 0, lo, hi]
    else:
        mult, shift = relu_requant(float(x.scale), float(y.scale))
        lo, hi = activation_range(op.name, float(y.scale), y.zero_point)
        if lo > hi:
            raise Unsupported(f"empty output range [{lo}, {hi}]")
        params = [-x.zero_point, mult, shift, y.zero_point, lo, hi]
    ctx.emit("RELU", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]), params)
