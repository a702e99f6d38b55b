"""RESHAPE, EXPAND_DIMS and SQUEEZE: one ulab_ml RESHAPE, a byte copy.

TFLite Micro copies the bytes and takes the output shape from the output tensor (a RESHAPE
shape input or new_shape option only has to agree with it), so the lowering does the same.
The memory planner lets the output share the input's bytes, making the copy a no-op.
"""

from __future__ import annotations

import numpy as np

from ..tflite_reader import Op
from . import LowerCtx, Unsupported, register


@register("RESHAPE", "EXPAND_DIMS", "SQUEEZE")
def lower_reshape(ctx: LowerCtx, op: Op) -> None:
    x, y = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
    if x.dtype != y.dtype:
        raise Unsupported(f"input dtype {x.dtype} differs from output dtype {y.dtype}")
    if any(d < 1 for d in y.shape):
        raise Unsupported(f"output shape {list(y.shape)} is not fully known")
    n_in, n_out = int(np.prod(x.shape, dtype=np.int64)), int(np.prod(y.shape, dtype=np.int64))
    if n_in != n_out:
        raise Unsupported(f"input has {n_in} elements, output {n_out}")
    src = ctx.const_from(op.inputs[0]) if x.is_const else ctx.act(op.inputs[0])
    ctx.emit("RESHAPE", [src], ctx.act(op.outputs[0]), [])
