"""FULLY_CONNECTED (int8): TFLite Micro reference FullyConnected / FullyConnectedPerChannel."""

from __future__ import annotations

import numpy as np

from ..quant import activation_range, quantize_multiplier
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register


@register("FULLY_CONNECTED")
def lower_fully_connected(ctx: LowerCtx, op: Op) -> None:
    x = ctx.require_dtype(op.inputs[0], "int8")
    w = ctx.require_dtype(op.inputs[1], "int8")
    y = ctx.require_dtype(op.outputs[0], "int8")
    if not w.is_const or len(w.shape) != 2:
        raise Unsupported("weights must be a constant 2-D int8 tensor")
    opts = op.options
    if opts is not None and getattr(opts, "weightsFormat", 0) != 0:
        raise Unsupported("shuffled weights format")
    out_depth, depth = w.shape
    bias_idx = op.inputs[2] if len(op.inputs) > 2 else -1
    bias = None
    if bias_idx >= 0:
        b = ctx.require_dtype(bias_idx, "int32")
        if not b.is_const or int(np.prod(b.shape)) != out_depth:
            raise Unsupported("bias must be a constant int32 vector of the output depth")
        bias = ctx.const_from(bias_idx)
    if w.scales is None or x.scales is None or y.scales is None:
        raise Unsupported("tensors must be quantized")
    n_in = int(np.prod(x.shape))
    if n_in % depth:
        raise Unsupported(f"input of {n_in} elements is not a multiple of the weights depth {depth}")
    batches = n_in // depth
    if int(np.prod(y.shape)) != batches * out_depth:
        raise Unsupported("output shape does not match batches x output depth")
    if getattr(opts, "keepNumDims", False) and tuple(y.shape[:-1]) != tuple(x.shape[:-1]):
        raise Unsupported("keep_num_dims with a reshaped output")

    x_scale, y_scale = np.float32(x.scale), np.float32(y.scale)
    per_channel = len(w.scales) > 1
    if per_channel:
        if len(w.scales) != out_depth:
            raise Unsupported("per-channel weight scales do not match the output depth")
        # PopulateConvolutionQuantizationParams: double(input) * double(filter[c]) / double(output)
        reals = [float(x_scale) * float(s) / float(y_scale) for s in w.scales]
        filter_offset = 0
    else:
        # GetQuantizedConvolutionMultipler: the input*filter product is taken in float first.
        reals = [float(np.float32(x_scale * np.float32(w.scales[0]))) / float(y_scale)]
        filter_offset = -int(w.zero_point)
    mults, shifts = zip(*(quantize_multiplier(r) for r in reals))
    act_min, act_max = activation_range(ctx.fused_activation(opts), float(y.scale), y.zero_point)
    ctx.emit(
        "FULLY_CONNECTED",
        [ctx.act(op.inputs[0]), ctx.const_from(op.inputs[1]), bias,
         ctx.new_const(np.array(mults), "int32", "multiplier"),
         ctx.new_const(np.array(shifts), "int32", "shift")],
        ctx.act(op.outputs[0]),
        [-x.zero_point, filter_offset, y.zero_point, act_min, act_max],
        macs=batches * out_depth * depth,
    )
