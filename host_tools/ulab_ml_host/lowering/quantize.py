"""QUANTIZE and DEQUANTIZE: TFLite Micro quantize_common.cc / dequantize_common.cc.

The device does no floating-point arithmetic, so the float parts are precomputed here:

- QUANTIZE float32 -> int8 (reference_ops::AffineQuantize,
  y = clamp((int32)roundf(x / (float)scale) + zero_point, -128, 127)): y never decreases
  as x grows, so it is fully described by 255 thresholds, the smallest float32 x with
  y(x) >= k for k = -127..127. They are found by bisection over all float32 values,
  evaluating y exactly as the reference does (float32 division, round half away from
  zero), and stored as order-preserving int32 keys (float_key); the device counts the
  thresholds a value reaches (natmod/kernels/quantize.c).
  Where the reference is undefined behaviour (|x / scale| >= 2^31, +-inf: the float to
  int32 conversion overflows) the result saturates to -128 / 127; NaN gives the zero point.
- QUANTIZE int8 -> int8 (reference_ops::Requantize): multiplier and shift of
  double(input scale) / double(output scale), as PrepareQuantizeReference computes them.
- DEQUANTIZE int8 -> float32 (reference_ops::Dequantize,
  y = (float)((double)scale * (x - zero_point))): a 256-entry float32 table.
"""

from __future__ import annotations

import numpy as np

from ..tflite_reader import Op, Tensor
from . import LowerCtx, Unsupported, register
from .common import check_one_in_one_out, per_tensor, requant_multiplier

N_THRESHOLDS = 255
KEY_NEG_INF = -0x7F800000
KEY_POS_INF = 0x7F800000
# Saturated stand-in for a rounded quotient outside int32 (or infinite).
_BIG = float(2**40)


def float_key(x: np.ndarray) -> np.ndarray:
    """int64 keys of float32 values that order like the values (-0.0 and +0.0 both 0)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.int64)
    mag = bits & 0x7FFFFFFF
    return np.where(bits >> 31 != 0, -mag, mag)


def key_to_float(key: np.ndarray) -> np.ndarray:
    """Inverse of float_key (key 0 gives +0.0)."""
    key = np.asarray(key, dtype=np.int64)
    bits = np.where(key < 0, (-key) | 0x80000000, key).astype(np.uint32)
    return bits.view(np.float32)


def affine_quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite AffineQuantize float32 -> int8, exactly, with ulab_ml's saturation where the
    reference is undefined (see the module docstring)."""
    x = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        q = (x / np.float32(scale)).astype(np.float64)
        # roundf, half away from zero. |q| + 0.5 is exact in double for a float32 q >= 0.25
        # (its ulp is >= 2^-25); below 0.25 any rounding of the sum still floors to 0.
        r = np.sign(q) * np.floor(np.abs(q) + 0.5)
        r = np.where(np.isnan(q), 0.0, np.clip(r, -_BIG, _BIG))
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def quantize_thresholds(scale: float, zero_point: int) -> np.ndarray:
    """Keys of the smallest float32 x with affine_quantize(x) >= k, for k = -127..127."""
    k = np.arange(-127, 128, dtype=np.int64)
    lo = np.full(k.shape, KEY_NEG_INF, dtype=np.int64)   # affine_quantize(-inf) = -128 < k
    hi = np.full(k.shape, KEY_POS_INF, dtype=np.int64)   # affine_quantize(+inf) = 127 >= k
    while np.any(hi - lo > 1):
        mid = (lo + hi) // 2
        reached = affine_quantize(key_to_float(mid), scale, zero_point).astype(np.int64) >= k
        hi = np.where(reached, mid, hi)
        lo = np.where(reached, lo, mid)
    return hi


def dequantize_table(scale: float, zero_point: int) -> np.ndarray:
    """float32 (double(scale) * (q - zero_point)) for q = -128..127."""
    q = np.arange(-128, 128, dtype=np.int64)
    with np.errstate(over="ignore"):  # large scales overflow to +-inf, as in the reference
        return (float(np.float32(scale)) * (q - zero_point).astype(np.float64)).astype(np.float32)


def _single_io(ctx: LowerCtx, op: Op) -> tuple[Tensor, Tensor]:
    check_one_in_one_out(op)
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.is_const:
        raise Unsupported("constant input (only activations are supported)")
    if int(np.prod(x.shape)) != int(np.prod(y.shape)):
        raise Unsupported("input and output sizes differ")
    return x, y


@register("QUANTIZE")
def lower_quantize(ctx: LowerCtx, op: Op) -> None:
    x, y = _single_io(ctx, op)
    if y.dtype != "int8":
        raise Unsupported(f"{x.dtype} -> {y.dtype} (supported: float32 -> int8, int8 -> int8)")
    per_tensor(y)
    if x.dtype == "float32":
        thresholds = quantize_thresholds(float(y.scale), y.zero_point)
        ctx.emit("QUANTIZE", [ctx.act(op.inputs[0]), ctx.new_const(thresholds, "int32", "thresholds")],
                 ctx.act(op.outputs[0]), [])
    elif x.dtype == "int8":
        per_tensor(x)
        real = float(np.float32(x.scale)) / float(np.float32(y.scale))
        mult, shift = requant_multiplier(real, "requantization multiplier")
        ctx.emit("QUANTIZE", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]),
                 [x.zero_point, y.zero_point, mult, shift])
    else:
        raise Unsupported(f"{x.dtype} -> {y.dtype} (supported: float32 -> int8, int8 -> int8)")


@register("DEQUANTIZE")
def lower_dequantize(ctx: LowerCtx, op: Op) -> None:
    x, y = _single_io(ctx, op)
    if x.dtype != "int8" or y.dtype != "float32":
        raise Unsupported(f"{x.dtype} -> {y.dtype} (supported: int8 -> float32)")
    per_tensor(x)
    ctx.emit("DEQUANTIZE",
             [ctx.act(op.inputs[0]), ctx.new_const(dequantize_table(x.scale, x.zero_point), "float32", "table")],
             ctx.act(op.outputs[0]), [])
