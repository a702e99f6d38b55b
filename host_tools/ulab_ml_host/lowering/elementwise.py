"""ADD, SUB and MUL (int8, with broadcasting): TFLite Micro reference integer kernels.

Either operand may be a constant (it becomes a const input of the op). Shapes broadcast
numpy style up to 4-D; the output shape must be the broadcast shape (leading 1s allowed),
which is what TFLite's shape inference produces.

Requantization is computed exactly as TFLite Micro's Prepare does:
- ADD and SUB (CalculateOpDataAdd / CalculateOpDataSub): multipliers in double precision.
  (Older TFLM sources evaluate SUB's formulas in float32; the pinned tflite-micro, our
  oracle, does them in double like ADD -- its CalculateOpDataSub uses addsd/divsd -- and
  the precision-sensitive conformance cases in tests/conformance/cases_add.py check it.)
- MUL (mul_common.cc, CalculateOpDataMul): double(s1) * double(s2) / double(s_out).
"""

from __future__ import annotations

import numpy as np

from ..format import MAX_RANK
from ..quant import activation_range, quantize_multiplier_smaller_than_one_exp
from ..tflite_reader import Op, Tensor
from . import LowerCtx, Unsupported, register
from .common import per_tensor_int8, requant_multiplier

# add.c / sub.c: left_shift for int8 inputs (TFLite: 20 for int8, 15 for int16).
LEFT_SHIFT = 20


def _extended(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1,) * (MAX_RANK - len(shape)) + tuple(shape)


def check_broadcast(a: Tensor, b: Tensor, y: Tensor) -> None:
    """The output shape must be the numpy broadcast of the inputs' shapes."""
    for t in (a, b, y):
        if len(t.shape) > MAX_RANK:
            raise Unsupported(f"tensor '{t.name}' has rank {len(t.shape)} (ulab_ml supports up to {MAX_RANK})")
    for da, db, dy in zip(_extended(a.shape), _extended(b.shape), _extended(y.shape)):
        if da not in (1, db) and db != 1:
            raise Unsupported(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast")
        if dy != max(da, db):
            raise Unsupported(f"output shape {list(y.shape)} is not the broadcast of {list(a.shape)} "
                              f"and {list(b.shape)}")


def _operand(ctx: LowerCtx, idx: int) -> int:
    return ctx.const_from(idx) if ctx.tensor(idx).is_const else ctx.act(idx)


def _smaller_than_one(real: float, what: str) -> tuple[int, int]:
    try:
        return quantize_multiplier_smaller_than_one_exp(real)
    except ValueError as exc:
        raise Unsupported(f"{what} multiplier {real!r} is not below 1 (TFLite Micro rejects this "
                          "model in Prepare)") from exc


def add_sub_multipliers(s1: np.float32, s2: np.float32, so: np.float32) -> list[float]:
    """Real multipliers (input1, input2, output) as TFLite Micro's ADD / SUB Prepare computes them."""
    twice_max = 2.0 * float(max(s1, s2))
    return [float(s1) / twice_max, float(s2) / twice_max, twice_max / ((1 << LEFT_SHIFT) * float(so))]


@register("ADD", "SUB", "MUL")
def lower_elementwise(ctx: LowerCtx, op: Op) -> None:
    if len(op.inputs) != 2 or len(op.outputs) != 1 or min(op.inputs) < 0:
        raise Unsupported("expected two inputs and one output")
    a = per_tensor_int8(ctx, op.inputs[0])
    b = per_tensor_int8(ctx, op.inputs[1])
    y = per_tensor_int8(ctx, op.outputs[0])
    check_broadcast(a, b, y)
    act_min, act_max = activation_range(ctx.fused_activation(op.options), float(y.scale), y.zero_point)
    s1, s2, so = np.float32(a.scale), np.float32(b.scale), np.float32(y.scale)
    if op.name == "MUL":
        real = float(s1) * float(s2) / float(so)
        mult, shift = requant_multiplier(real, "output multiplier")
        params = [-a.zero_point, -b.zero_point, y.zero_point, mult, shift, act_min, act_max]
    else:
        r1, r2, ro = add_sub_multipliers(s1, s2, so)
        m1, sh1 = _smaller_than_one(r1, "input1")
        m2, sh2 = _smaller_than_one(r2, "input2")
        mo, sho = _smaller_than_one(ro, "output")
        params = [-a.zero_point, -b.zero_point, y.zero_point, LEFT_SHIFT, m1, sh1, m2, sh2, mo, sho,
                  act_min, act_max]
    ctx.emit(op.name, [_operand(ctx, op.inputs[0]), _operand(ctx, op.inputs[1])], ctx.act(op.outputs[0]),
             params)
