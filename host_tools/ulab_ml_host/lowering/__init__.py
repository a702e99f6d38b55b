"""Lowering (stage 2): TFLite ops -> ulab_ml ops with requantization precomputed.

Each module in this package lowers one family of TFLite ops and registers its functions with
@register("TFLITE_OP_NAME"). A lowering function gets a LowerCtx and the TFLite Op, and
emits ulab_ml ops (ctx.emit) whose inputs are lowered tensor ids (ctx.act / ctx.const_from /
ctx.new_const). Anything it cannot express exactly raises Unsupported: the converter never
writes a model that might compute something else than TFLite Micro.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..format import DTYPES, MAX_INPUTS, MAX_IO, MAX_RANK, OPCODES
from ..schema import ACTIVATION_NAMES
from ..tflite_reader import Graph, Op, Tensor


class Unsupported(Exception):
    """This op (or this configuration of it) cannot be converted."""


class UnsupportedModel(ValueError):
    """The model uses ops or dtypes ulab_ml does not support; .problems names each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("unsupported model:\n  " + "\n  ".join(problems))


@dataclass
class LTensor:
    name: str
    dtype: str
    shape: tuple[int, ...]
    const: bytes | None = None        # constant data (storage const) or None (arena)
    zero_point: int = 0
    scale: float = 0.0

    @property
    def nbytes(self) -> int:
        from ..format import DTYPE_SIZES
        return int(np.prod(self.shape, dtype=np.int64)) * DTYPE_SIZES[self.dtype]


@dataclass
class LOp:
    opcode: str
    inputs: list[int | None]
    output: int
    params: list[int]
    scratch_size: int = 0
    macs: int = 0
    source: str = ""                  # TFLite op this came from, e.g. "CONV_2D#3"


@dataclass
class LoweredModel:
    tensors: list[LTensor] = field(default_factory=list)
    ops: list[LOp] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)


LowerFn = Callable[["LowerCtx", Op], None]
LOWERINGS: dict[str, LowerFn] = {}


def register(*names: str) -> Callable[[LowerFn], LowerFn]:
    def deco(fn: LowerFn) -> LowerFn:
        for n in names:
            LOWERINGS[n] = fn
        return fn
    return deco


class LowerCtx:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.model = LoweredModel()
        self._act: dict[int, int] = {}
        self.current: Op | None = None

    # --- tensors ------------------------------------------------------------------------
    def tensor(self, idx: int) -> Tensor:
        return self.graph.tensors[idx]

    def _check_shape(self, t: Tensor) -> None:
        if len(t.shape) > MAX_RANK:
            raise Unsupported(f"tensor '{t.name}' has rank {len(t.shape)} (ulab_ml supports up to {MAX_RANK})")
        if any(d < 1 for d in t.shape):
            raise Unsupported(f"tensor '{t.name}' has a dynamic or empty shape {list(t.shape)}")

    def act(self, idx: int) -> int:
        """Lowered id of the activation (arena) tensor for TFLite tensor idx."""
        if idx in self._act:
            return self._act[idx]
        t = self.tensor(idx)
        if t.is_const:
            raise Unsupported(f"tensor '{t.name}' is constant where an activation is expected")
        if t.dtype not in DTYPES:
            raise Unsupported(f"tensor '{t.name}' has dtype {t.dtype}")
        self._check_shape(t)
        lid = len(self.model.tensors)
        self.model.tensors.append(LTensor(t.name, t.dtype, t.shape, None, t.zero_point, t.scale))
        self._act[idx] = lid
        return lid

    def new_const(self, array: np.ndarray, dtype: str, name: str = "", zero_point: int = 0,
                  scale: float = 0.0) -> int:
        """A new constant tensor holding `array` converted to `dtype`."""
        from ..tflite_reader import NUMPY_DTYPES
        arr = np.ascontiguousarray(np.asarray(array).astype(NUMPY_DTYPES[dtype], casting="unsafe"))
        shape = tuple(int(d) for d in arr.shape) or (1,)
        if len(shape) > MAX_RANK:
            raise Unsupported(f"constant '{name}' has rank {len(shape)}")
        lid = len(self.model.tensors)
        self.model.tensors.append(LTensor(name, dtype, shape, arr.astype("<" + arr.dtype.str[1:]).tobytes(),
                                          zero_point, scale))
        return lid

    def const_from(self, idx: int, dtype: str | None = None) -> int:
        """A constant tensor with the data of TFLite constant tensor idx."""
        t = self.tensor(idx)
        if not t.is_const:
            raise Unsupported(f"tensor '{t.name}' must be constant")
        dt = dtype or t.dtype
        if dt not in DTYPES:
            raise Unsupported(f"constant '{t.name}' has dtype {t.dtype}")
        self._check_shape(t)
        data = t.data if t.data is not None else np.zeros(0)
        return self.new_const(np.asarray(data).reshape(t.shape or (1,)), dt, t.name, t.zero_point, t.scale)

    # --- ops ----------------------------------------------------------------------------
    def emit(self, opcode: str, inputs: list[int | None], output: int, params: list[int],
             scratch_size: int = 0, macs: int = 0) -> None:
        if opcode not in OPCODES:
            raise KeyError(opcode)
        if len(inputs) > MAX_INPUTS:
            raise Unsupported(f"{opcode} with {len(inputs)} inputs (at most {MAX_INPUTS})")
        for p in params:
            if not -2**31 <= int(p) < 2**31:
                raise Unsupported(f"{opcode} parameter {p} does not fit in int32")
        src = f"{self.current.name}#{self.current.index}" if self.current else ""
        self.model.ops.append(LOp(opcode, list(inputs), output, [int(p) for p in params],
                                  scratch_size, macs, src))

    # --- helpers for lowering functions ---------------------------------------------------
    @staticmethod
    def fused_activation(options: Any) -> str:
        code = getattr(options, "fusedActivationFunction", 0) if options is not None else 0
        name = ACTIVATION_NAMES.get(int(code or 0), f"ACT{code}")
        if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
            raise Unsupported(f"fused activation {name}")
        return name

    def require_dtype(self, idx: int, *dtypes: str) -> Tensor:
        t = self.tensor(idx)
        if t.dtype not in dtypes:
            raise Unsupported(f"tensor '{t.name}' has dtype {t.dtype} (supported: {', '.join(dtypes)})")
        return t


def _load_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def lower(graph: Graph) -> LoweredModel:
    """Lower every op of graph; raises UnsupportedModel naming every problem."""
    _load_modules()
    ctx = LowerCtx(graph)
    problems: list[str] = []
    if not 1 <= len(graph.inputs) <= 1 or not 1 <= len(graph.outputs) <= 1:
        problems.append(f"model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs "
                        "(ulab_ml supports exactly one of each)")
    missing = sorted({op.name for op in graph.ops if op.name not in LOWERINGS})
    for name in missing:
        dtypes = sorted({graph.tensors[i].dtype for op in graph.ops if op.name == name
                         for i in op.inputs + op.outputs if i >= 0})
        problems.append(f"unsupported op {name} (tensor dtypes: {', '.join(dtypes)})")
    for i in graph.inputs:
        try:
            ctx.model.inputs.append(ctx.act(i))
        except Unsupported as exc:
            problems.append(f"model input: {exc}")
    for op in graph.ops:
        if op.name not in LOWERINGS:
            continue
        ctx.current = op
        try:
            LOWERINGS[op.name](ctx, op)
        except Unsupported as exc:
            problems.append(f"{op.name} (op {op.index}): {exc}")
    ctx.current = None
    for i in graph.outputs:
        if i in ctx._act:
            ctx.model.outputs.append(ctx._act[i])
        elif not missing:
            problems.append(f"model output '{graph.tensors[i].name}' is not computed by any op")
    if len(ctx.model.inputs) > MAX_IO or len(ctx.model.outputs) > MAX_IO:
        problems.append("too many model inputs or outputs")
    if problems:
        raise UnsupportedModel(problems)
    return ctx.model
