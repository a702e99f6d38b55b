"""CONCATENATION: TFLite Micro reference_ops::Concatenation (a byte copy).

TFLite Micro requires int8 inputs to have exactly the output's scale and zero point (no
rescaling), int16 ones a zero point of 0, and no fused activation. It accepts at most 10
inputs; ulab_ml accepts up to 16 (the same copy, with no quantization involved).
"""

from __future__ import annotations

import numpy as np

from ..format import MAX_INPUTS
from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register

DTYPES = ("int8", "int16", "int32", "float32")


@register("CONCATENATION")
def lower_concatenation(ctx: LowerCtx, op: Op) -> None:
    y = ctx.require_dtype(op.outputs[0], *DTYPES)
    if ctx.fused_activation(op.options) != "NONE":
        raise Unsupported("fused activation (TFLite Micro supports none)")
    if not 1 <= len(op.inputs) <= MAX_INPUTS or any(i < 0 for i in op.inputs):
        raise Unsupported(f"{len(op.inputs)} inputs (1 to {MAX_INPUTS} supported)")
    rank = len(y.shape)
    axis = int(getattr(op.options, "axis", 0) or 0)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise Unsupported(f"axis {axis} out of range for rank {rank}")
    total = 0
    for i in op.inputs:
        x = ctx.require_dtype(i, y.dtype)
        if len(x.shape) != rank or any(x.shape[k] != y.shape[k] for k in range(rank) if k != axis):
            raise Unsupported(f"input shape {list(x.shape)} does not match output {list(y.shape)} "
                              f"off axis {axis}")
        total += x.shape[axis]
        if y.dtype == "int8" and (np.float32(x.scale) != np.float32(y.scale) or x.zero_point != y.zero_point):
            raise Unsupported("inputs with a different scale or zero point than the output "
                              "(TFLite Micro does not rescale int8)")
        if y.dtype == "int16" and (x.zero_point != 0 or y.zero_point != 0):
            raise Unsupported("int16 with a nonzero zero point")
    if total != y.shape[axis]:
        raise Unsupported(f"inputs add up to {total} along axis {axis}, output has {y.shape[axis]}")
    inputs: list[int | None] = [ctx.const_from(i) if ctx.tensor(i).is_const else ctx.act(i) for i in op.inputs]
    ctx.emit("CONCATENATION", inputs, ctx.act(op.outputs[0]), [axis])
