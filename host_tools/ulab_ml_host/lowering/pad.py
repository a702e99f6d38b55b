"""PAD and PADV2 (int8): TFLite Micro reference_ops::Pad.

The paddings tensor must be constant (TFLite Micro requires it too); its values become the
op's parameters. The pad value is the output zero point (PAD, or PADV2 without a constant)
or the PADV2 constant, which TFLite requires to share the output's quantization. Input
bytes are copied unchanged: TFLite does not requantize.
"""

from __future__ import annotations

import numpy as np

from ..format import MAX_RANK
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register


@register("PAD", "PADV2")
def lower_pad(ctx: LowerCtx, op: Op) -> None:
    x = ctx.require_dtype(op.inputs[0], "int8")
    y = ctx.require_dtype(op.outputs[0], "int8")
    pt = ctx.require_dtype(op.inputs[1], "int32")
    if not pt.is_const:
        raise Unsupported("the paddings tensor must be constant")
    rank = len(y.shape)
    if len(x.shape) != rank:
        raise Unsupported(f"input rank {len(x.shape)} differs from output rank {rank}")
    pads = np.asarray(pt.data, dtype=np.int64).reshape(-1)
    if pads.size != 2 * rank:
        raise Unsupported(f"{pads.size} padding values for a rank {rank} output")
    pads = pads.reshape(rank, 2)
    if (pads < 0).any():
        raise Unsupported("negative paddings")
    for k in range(rank):
        if x.shape[k] + pads[k, 0] + pads[k, 1] != y.shape[k]:
            raise Unsupported(f"output shape {list(y.shape)} does not match input {list(x.shape)} "
                              f"with paddings {pads.tolist()}")
    value = y.zero_point
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        cv = ctx.require_dtype(op.inputs[2], "int8")
        if not cv.is_const or np.asarray(cv.data).size != 1:
            raise Unsupported("the pad value must be a constant int8 scalar")
        if cv.zero_point != y.zero_point or np.float32(cv.scale) != np.float32(y.scale):
            raise Unsupported("the pad value's quantization differs from the output's")
        value = int(np.asarray(cv.data).reshape(-1)[0])
    before = [int(pads[k, 0]) if k < rank else 0 for k in range(MAX_RANK)]
    after = [int(pads[k, 1]) if k < rank else 0 for k in range(MAX_RANK)]
    ctx.emit("PAD", [ctx.act(op.inputs[0])], ctx.act(op.outputs[0]),
             [value, *before, *after])
