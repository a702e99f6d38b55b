"""MEAN (int8): TFLite Micro reduce (reference_ops::QuantizedMeanOrSum, compute_sum false).

TFLite Micro takes one path for every int8 MEAN, whether or not the input and output
quantization match: sum the reduced cells in int32, subtract input_zp * count, and
requantize with QuantizeMultiplier(input_scale / output_scale) adjusted for 1/count.
That adjustment is integer-only and done here, so the device needs no division.
"""

from __future__ import annotations

import numpy as np

from ..quant import quantize_multiplier
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register


def mean_multiplier(real: float, count: int) -> tuple[int, int]:
    """QuantizeMultiplier(real), then QuantizedMeanOrSum folds 1/count into it."""
    mult, shift = quantize_multiplier(real)
    # shift = floor(log2(count)), clamped to 32 and to 31 + shift.
    n = min(count.bit_length() - 1, 32, 31 + shift)
    mult = (mult << n) // count  # int64 division of non-negative values: truncation = floor
    return mult, shift - n


@register("MEAN")
def lower_mean(ctx: LowerCtx, op: Op) -> None:
    x = ctx.require_dtype(op.inputs[0], "int8")
    y = ctx.require_dtype(op.outputs[0], "int8")
    if x.scales is None or y.scales is None:
        raise Unsupported("tensors must be quantized")
    axis_t = ctx.require_dtype(op.inputs[1], "int32")
    if not axis_t.is_const:
        raise Unsupported("the axis tensor must be constant")
    rank = len(x.shape)
    axes: set[int] = set()
    for a in np.asarray(axis_t.data).reshape(-1).tolist():
        a = int(a)
        resolved = a + rank if a < 0 else a
        if rank and not 0 <= resolved < rank:
            raise Unsupported(f"axis {a} out of range for a rank {rank} input")
        if rank:
            axes.add(resolved)
    count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    kept = [d for k, d in enumerate(x.shape) if k not in axes]
    if int(np.prod(y.shape, dtype=np.int64)) != int(np.prod(kept, dtype=np.int64)):
        raise Unsupported(f"output shape {list(y.shape)} does not hold the non-reduced dimensions {kept}")
    # PrepareMeanOrSumHelper: double(input scale) / double(output scale).
    real = float(np.float32(x.scale)) / float(np.float32(y.scale))
    mult, shift = mean_multiplier(real, count)
    if not -31 <= shift <= 30:
        raise Unsupported(f"requantization shift {shift} out of range (scale ratio {real})")
    ctx.emit(
        "MEAN",
        [ctx.act(op.inputs[0])],
        ctx.act(op.outputs[0]),
        [sum(1 << a for a in axes), x.zero_point, y.zero_point, mult, shift],
        macs=int(np.prod(x.shape, dtype=np.int64)),
    )
