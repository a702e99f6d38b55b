"""DEPTHWISE_CONV_2D (int8): TFLite Micro reference_integer_ops::DepthwiseConvPerChannel."""

from __future__ import annotations

from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register
from .conv_2d import conv_like, conv_tensors, window


@register("DEPTHWISE_CONV_2D")
def lower_depthwise_conv_2d(ctx: LowerCtx, op: Op) -> None:
    x, w, y = conv_tensors(ctx, op)
    if not w.is_const or len(w.shape) != 4 or w.shape[0] != 1:
        raise Unsupported("filter must be a constant int8 tensor of shape [1, h, w, channels]")
    _, k_h, k_w, out_ch = w.shape
    batches, in_h, in_w, in_ch = x.shape
    if y.shape[3] != out_ch:
        raise Unsupported("output depth does not match the filter")
    opts = op.options
    depth_multiplier = int(getattr(opts, "depthMultiplier", 0) or 0)
    if depth_multiplier < 1 or in_ch * depth_multiplier != out_ch:
        # TFLite Micro trusts the option; an inconsistent one makes it compute garbage.
        raise Unsupported(f"depth_multiplier {depth_multiplier} does not match {in_ch} input and "
                          f"{out_ch} output channels")
    if k_h * k_w > 65535:
        raise Unsupported(f"filter of {k_h}x{k_w} taps is too large (at most 65535)")
    win = window(opts, in_h, in_w, k_h, k_w, y)
    conv_like(ctx, op, x, y, ctx.const_from(op.inputs[1]), win, out_ch, w, 3, True, "DEPTHWISE_CONV_2D",
              batches * win.out_h * win.out_w * out_ch * k_h * k_w)
