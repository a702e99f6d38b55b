"""Checks and helpers shared by several lowering modules (registers no ops)."""

from __future__ import annotations

import numpy as np

from ..quant import quantize_multiplier
from ..tflite_reader import Op, Tensor
from . import LowerCtx, Unsupported

INT32_MAX = 2**31 - 1


def per_tensor(t: Tensor) -> Tensor:
    """t has one finite positive scale and an int8 zero point."""
    if t.scales is None or t.zero_points is None or len(t.scales) == 0:
        raise Unsupported(f"tensor '{t.name}' is not quantized")
    if len(t.scales) != 1:
        raise Unsupported(f"tensor '{t.name}' is quantized per channel (per-tensor required)")
    if not (np.isfinite(t.scales[0]) and t.scales[0] > 0):
        raise Unsupported(f"tensor '{t.name}' has scale {t.scale}")
    if not -128 <= t.zero_point <= 127:
        raise Unsupported(f"tensor '{t.name}' has zero point {t.zero_point} outside int8")
    return t


def per_tensor_int8(ctx: LowerCtx, idx: int) -> Tensor:
    """An int8 tensor with one finite positive scale and an int8 zero point."""
    return per_tensor(ctx.require_dtype(idx, "int8"))


def check_one_in_one_out(op: Op) -> None:
    if len(op.inputs) != 1 or len(op.outputs) != 1 or op.inputs[0] < 0:
        raise Unsupported("expected one input and one output")


def check_unary(ctx: LowerCtx, op: Op) -> tuple[Tensor, Tensor]:
    """One int8 activation input, one int8 output of the same shape."""
    check_one_in_one_out(op)
    x = per_tensor_int8(ctx, op.inputs[0])
    y = per_tensor_int8(ctx, op.outputs[0])
    if tuple(x.shape) != tuple(y.shape):
        raise Unsupported(f"output shape {list(y.shape)} differs from input shape {list(x.shape)}")
    return x, y


def requant_multiplier(real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplier(real) for MultiplyByQuantizedMultiplier, which takes shifts up to 30;
    `what` names real in the message."""
    mult, shift = quantize_multiplier(real)
    if shift > 30:
        raise Unsupported(f"{what} {real!r} is too large")
    return mult, shift


# --- windows of CONV_2D, DEPTHWISE_CONV_2D and the pools ------------------------------------

def out_size(padding: str, image: int, k: int, stride: int, dilation: int) -> int:
    """TFLite ComputeOutSizeChecked (GetWindowedOutputSize); -1 where TFLite fails."""
    effective = (k - 1) * dilation + 1
    if padding == "SAME":
        value = (image + stride - 1) // stride
    else:
        num = image + stride - effective
        value = abs(num) // stride * (1 if num >= 0 else -1)  # C++ division truncates toward zero
    return value if 0 <= value <= INT32_MAX else -1


def pad_before(image: int, k: int, stride: int, dilation: int, out: int) -> int:
    """TFLite ComputePaddingWithOffset: the top/left padding (total // 2; the odd pixel is
    padded at the bottom/right, which the reference kernels get by bounds checks)."""
    effective = (k - 1) * dilation + 1
    total = max((out - 1) * stride + effective - image, 0)
    return total // 2
