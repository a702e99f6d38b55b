"""AVERAGE_POOL_2D and MAX_POOL_2D (int8): TFLite Micro reference_integer_ops pooling.

TFLite Micro's PoolingPrepare requires the input and output quantization to be the same
(|scale difference| <= 1e-6, equal zero points), so the kernels never requantize; only the
fused activation clamps. Padding rows/columns come from ComputePaddingHeightWidth.
"""

from __future__ import annotations

import numpy as np

from ..quant import activation_range
from ..schema import PADDING_NAMES
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register
from .common import out_size, pad_before

# natmod/kernels/pool_2d.h: UML_POOL_MAX_FILTER
MAX_FILTER = 2048


@register("AVERAGE_POOL_2D", "MAX_POOL_2D")
def lower_pool(ctx: LowerCtx, op: Op) -> None:
    x = ctx.require_dtype(op.inputs[0], "int8")
    y = ctx.require_dtype(op.outputs[0], "int8")
    if len(x.shape) != 4 or len(y.shape) != 4:
        raise Unsupported("pooling needs 4-D [batch, height, width, channels] tensors")
    if x.scales is None or y.scales is None:
        raise Unsupported("tensors must be quantized")
    # PoolingPrepare: std::abs(float - float) <= 1e-6 (as double), equal zero points.
    if float(abs(np.float32(x.scale) - np.float32(y.scale))) > 1.0e-6 or x.zero_point != y.zero_point:
        raise Unsupported("input and output quantization differ (TFLite requires them equal)")
    opts = op.options
    if opts is None:
        raise Unsupported("missing pooling options")
    padding = PADDING_NAMES.get(int(opts.padding), f"padding {opts.padding}")
    if padding not in ("SAME", "VALID"):
        raise Unsupported(f"padding {padding}")
    sh, sw = int(opts.strideH), int(opts.strideW)
    fh, fw = int(opts.filterHeight), int(opts.filterWidth)
    if min(sh, sw, fh, fw) < 1:
        raise Unsupported(f"stride {sh}x{sw} / filter {fh}x{fw} must be positive")
    if fh > MAX_FILTER or fw > MAX_FILTER:
        raise Unsupported(f"filter {fh}x{fw} larger than {MAX_FILTER}")
    n, h, w, c = x.shape
    # ComputeOutSize and ComputePaddingHeightWidth as for a convolution, without dilation.
    oh, ow = out_size(padding, h, fh, sh, 1), out_size(padding, w, fw, sw, 1)
    if oh < 1 or ow < 1:
        raise Unsupported(f"{padding} pooling with filter {fh}x{fw} leaves no output for input {h}x{w}")
    if tuple(y.shape) != (n, oh, ow, c):
        raise Unsupported(f"output shape {list(y.shape)} does not match the computed {[n, oh, ow, c]}")
    # ComputePaddingHeightWidth uses this formula for SAME and VALID alike (VALID gives 0).
    pad_h, pad_w = pad_before(h, fh, sh, 1, oh), pad_before(w, fw, sw, 1, ow)
    act_min, act_max = activation_range(ctx.fused_activation(opts), float(y.scale), y.zero_point)
    ctx.emit(
        op.name,
        [ctx.act(op.inputs[0])],
        ctx.act(op.outputs[0]),
        [sh, sw, fh, fw, pad_h, pad_w, act_min, act_max],
        macs=n * oh * ow * c * fh * fw,
    )
