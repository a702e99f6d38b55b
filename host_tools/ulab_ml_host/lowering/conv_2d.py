"""CONV_2D (int8): TFLite Micro reference_integer_ops::ConvPerChannel.

Also holds the helpers DEPTHWISE_CONV_2D shares (padding, requantization, bias): both
kernels take the same parameter words

    input_offset, output_offset, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w,
    act_min, act_max

and the inputs [input, filter, bias or None, multiplier[1 or C], shift[1 or C]].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..quant import activation_range, quantize_multiplier
from ..schema import PADDING_NAMES
from ..tflite_reader import Op, Tensor
from . import LowerCtx, Unsupported, register
from .common import out_size, pad_before


@dataclass
class Window:
    """Spatial parameters of a convolution window, as TFLite Micro's Prepare computes them."""
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_h: int
    pad_w: int
    out_h: int
    out_w: int

    def params(self) -> list[int]:
        return [self.stride_h, self.stride_w, self.dilation_h, self.dilation_w, self.pad_h, self.pad_w]


def window(opts: Any, in_h: int, in_w: int, k_h: int, k_w: int, y: Tensor) -> Window:
    """Strides, dilations and TFLite's ComputePaddingHeightWidth, checked against the
    output tensor's shape."""
    if opts is None:
        raise Unsupported("missing builtin options")
    padding = PADDING_NAMES.get(int(opts.padding or 0), f"padding {opts.padding}")
    if padding not in ("SAME", "VALID"):
        raise Unsupported(f"{padding} padding")
    sh, sw = int(opts.strideH or 0), int(opts.strideW or 0)
    dh, dw = int(opts.dilationHFactor or 0), int(opts.dilationWFactor or 0)
    if min(sh, sw, dh, dw) < 1 or max(sh, sw, dh, dw) > 2**16:
        raise Unsupported(f"strides {sh}x{sw} and dilations {dh}x{dw} must be in [1, 65536]")
    out_h = out_size(padding, in_h, k_h, sh, dh)
    out_w = out_size(padding, in_w, k_w, sw, dw)
    if (out_h, out_w) != (y.shape[1], y.shape[2]):
        raise Unsupported(f"output shape {list(y.shape)} does not match the {padding} padding "
                          f"output size {out_h}x{out_w}")
    win = Window(sh, sw, dh, dw, pad_before(in_h, k_h, sh, dh, out_h), pad_before(in_w, k_w, sw, dw, out_w),
                 out_h, out_w)
    # The kernels require every input coordinate they compute to stay far inside int32.
    for out, k, stride, dilation, pad in ((out_h, k_h, sh, dh, win.pad_h), (out_w, k_w, sw, dw, win.pad_w)):
        if max((out - 1) * stride, (k - 1) * dilation, pad) >= 2**30:
            raise Unsupported("convolution window too large")
    return win


def conv_tensors(ctx: LowerCtx, op: Op) -> tuple[Tensor, Tensor, Tensor]:
    """Input, filter and output: int8, the activations quantized and 4-D with one batch size."""
    x = ctx.require_dtype(op.inputs[0], "int8")
    w = ctx.require_dtype(op.inputs[1], "int8")
    y = ctx.require_dtype(op.outputs[0], "int8")
    check_activations(x, y)
    return x, w, y


def check_activations(x: Tensor, y: Tensor) -> None:
    for t in (x, y):
        if t.scales is None or not len(t.scales):
            raise Unsupported(f"tensor '{t.name}' is not quantized")
        if not -128 <= t.zero_point <= 127:
            raise Unsupported(f"tensor '{t.name}' has zero point {t.zero_point} outside int8")
        if not float(t.scale) > 0.0:
            raise Unsupported(f"tensor '{t.name}' has scale {t.scale}")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise Unsupported("input and output must be 4-D (NHWC)")
    if x.shape[0] != y.shape[0]:
        raise Unsupported("input and output batch sizes differ")


def requant(ctx: LowerCtx, x: Tensor, w: Tensor, y: Tensor, channels: int, qdim: int,
            check_zero_point_count: bool) -> tuple[int, int]:
    """Per-channel multipliers and shifts as TFLite's PopulateConvolutionQuantizationParams
    computes them (per-tensor filter scales give one multiplier); returns the lowered
    multiplier and shift const tensors."""
    if w.scales is None or not len(w.scales):
        raise Unsupported(f"filter '{w.name}' is not quantized")
    n = len(w.scales)
    if n != 1 and n != channels:
        raise Unsupported(f"filter has {n} scales for {channels} output channels")
    if check_zero_point_count and (w.zero_points is None or len(w.zero_points) != n):
        raise Unsupported("filter has different numbers of scales and zero points")
    # With several scales TFLite Micro requires filter.shape[quantized_dimension] == their count.
    qd = w.quantized_dimension
    if n > 1 and qd != qdim and not (0 <= qd < len(w.shape) and w.shape[qd] == n):
        raise Unsupported(f"filter quantized_dimension {w.quantized_dimension} does not match its scales")
    x_scale, y_scale = float(np.float32(x.scale)), float(np.float32(y.scale))
    mults: list[int] = []
    shifts: list[int] = []
    for s in w.scales:
        # double(input_scale) * double(filter_scale) / double(output_scale), then QuantizeMultiplier.
        real = x_scale * float(np.float32(s)) / y_scale
        if not (real >= 0.0 and np.isfinite(real)):
            raise Unsupported(f"effective output scale {real}")
        try:
            m, sh = quantize_multiplier(real)
        except ValueError as exc:
            raise Unsupported(str(exc)) from exc
        if not -31 <= sh <= 30:
            raise Unsupported(f"effective output scale {real} is too large")
        mults.append(m)
        shifts.append(sh)
    return (ctx.new_const(np.array(mults, dtype=np.int64), "int32", "multiplier"),
            ctx.new_const(np.array(shifts, dtype=np.int64), "int32", "shift"))


def bias_const(ctx: LowerCtx, op: Op, channels: int) -> int | None:
    """The optional bias: a constant int32 vector of the output channels. Its quantization
    metadata is not used (TFLite Micro ignores it too; some models have a malformed one)."""
    idx = op.inputs[2] if len(op.inputs) > 2 else -1
    if idx < 0:
        return None
    b = ctx.tensor(idx)
    if b.dtype != "int32":
        raise Unsupported(f"bias '{b.name}' has dtype {b.dtype} (supported: int32)")
    if not b.is_const or int(np.prod(b.shape, dtype=np.int64)) != channels:
        raise Unsupported("bias must be a constant int32 vector of the output channels")
    return ctx.new_const(np.asarray(b.data).reshape(channels), "int32", b.name)


def conv_like(ctx: LowerCtx, op: Op, x: Tensor, y: Tensor, filter_id: int, win: Window,
              channels: int, w: Tensor, qdim: int, check_zp_count: bool, opcode: str, macs: int) -> None:
    if len(op.inputs) > 3 or len(op.outputs) != 1:
        raise Unsupported("expected 2 or 3 inputs and 1 output")
    bias = bias_const(ctx, op, channels)
    mult, shift = requant(ctx, x, w, y, channels, qdim, check_zp_count)
    act_min, act_max = activation_range(ctx.fused_activation(op.options), float(y.scale), y.zero_point)
    ctx.emit(
        opcode,
        [ctx.act(op.inputs[0]), filter_id, bias, mult, shift],
        ctx.act(op.outputs[0]),
        [-x.zero_point, y.zero_point, *win.params(), act_min, act_max],
        macs=macs,
    )


@register("CONV_2D")
def lower_conv_2d(ctx: LowerCtx, op: Op) -> None:
    x, w, y = conv_tensors(ctx, op)
    if not w.is_const or len(w.shape) != 4:
        raise Unsupported("filter must be a constant 4-D int8 tensor")
    out_ch, k_h, k_w, f_in = w.shape
    batches, in_h, in_w, in_ch = x.shape
    if f_in != in_ch:
        raise Unsupported(f"grouped convolution (filter depth {f_in}, input depth {in_ch})")
    if y.shape[3] != out_ch:
        raise Unsupported("output depth does not match the filter")
    if k_h * k_w * in_ch > 65535:
        raise Unsupported(f"filter of {k_h}x{k_w}x{in_ch} taps is too large (at most 65535)")
    win = window(op.options, in_h, in_w, k_h, k_w, y)
    conv_like(ctx, op, x, y, ctx.const_from(op.inputs[1]), win, out_ch, w, 0, False, "CONV_2D",
              batches * win.out_h * win.out_w * out_ch * k_h * k_w * in_ch)
