"""Read a .tflite flatbuffer into a plain Graph (stage 1 of read -> lower -> plan -> pack).

Uses the schema module shipped with tflite-micro (no hand-written flatbuffer parsing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .schema import BUILTIN_NAMES, TENSOR_TYPE_NAMES, schema

NUMPY_DTYPES: dict[str, Any] = {
    "float32": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "bool": np.bool_,
    "float16": np.float16,
    "float64": np.float64,
}


class TFLiteReadError(ValueError):
    """The file is not a readable .tflite model."""


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str                      # "int8", "int32", "float32", ...
    shape: tuple[int, ...]
    scales: np.ndarray | None       # float32 per-tensor (len 1) or per-channel
    zero_points: np.ndarray | None  # int64
    quantized_dimension: int
    data: np.ndarray | None         # constant data, reshaped to `shape`; None for activations

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def scale(self) -> float:
        """Per-tensor scale (first scale), 0.0 when not quantized."""
        return float(self.scales[0]) if self.scales is not None and len(self.scales) else 0.0

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points is not None and len(self.zero_points) else 0


@dataclass
class Op:
    index: int
    name: str                       # builtin name, e.g. "CONV_2D", or "CUSTOM:<code>"
    inputs: list[int]               # -1 for an absent optional input
    outputs: list[int]
    options: Any                    # schema *OptionsT object or None
    version: int = 1


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    opcode_names: list[str] = field(default_factory=list)


def op_code_name(code: Any) -> str:
    """TFLite op name. The real code is max(builtinCode, deprecatedBuiltinCode)."""
    builtin = max(int(code.builtinCode or 0), int(code.deprecatedBuiltinCode or 0))
    name = BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.customCode
        if isinstance(custom, bytes):
            custom = custom.decode("utf-8", "replace")
        return f"CUSTOM:{custom}"
    return name


def _buffer_bytes(model: Any, data: bytes, index: int) -> bytes | None:
    if index <= 0 or model.buffers is None or index >= len(model.buffers):
        return None
    buf = model.buffers[index]
    if buf.data is not None and len(buf.data):
        return np.asarray(buf.data, dtype=np.uint8).tobytes()
    if buf.offset and buf.size:  # buffers stored after the flatbuffer (models > 2 GB layout)
        return data[buf.offset:buf.offset + buf.size]
    return None


def read_tflite(data: bytes) -> Graph:
    """Parse .tflite bytes into a Graph of the first subgraph."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteReadError("not a TFLite flatbuffer (missing TFL3 identifier)")
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    except Exception as exc:  # the flatbuffers runtime raises assorted errors on bad input
        raise TFLiteReadError(f"cannot parse TFLite flatbuffer: {exc}") from exc
    if not model.subgraphs:
        raise TFLiteReadError("model has no subgraph")
    if len(model.subgraphs) > 1:
        raise TFLiteReadError("models with more than one subgraph (control flow) are not supported")
    sg = model.subgraphs[0]
    codes = model.operatorCodes or []
    opcode_names = [op_code_name(c) for c in codes]

    tensors: list[Tensor] = []
    for i, t in enumerate(sg.tensors or []):
        dtype = TENSOR_TYPE_NAMES.get(t.type, f"type{t.type}")
        shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
        q = t.quantization
        scales = zps = None
        qdim = 0
        if q is not None and q.scale is not None and len(q.scale):
            scales = np.asarray(q.scale, dtype=np.float32)
            zps = np.asarray(q.zeroPoint if q.zeroPoint is not None else [0] * len(scales), dtype=np.int64)
            qdim = int(q.quantizedDimension or 0)
        raw = _buffer_bytes(model, data, t.buffer)
        arr = None
        if raw is not None and dtype in NUMPY_DTYPES:
            arr = np.frombuffer(raw, dtype=NUMPY_DTYPES[dtype]).copy()
            if arr.size == int(np.prod(shape, dtype=np.int64)):
                arr = arr.reshape(shape)
        name = t.name.decode("utf-8", "replace") if isinstance(t.name, bytes) else (t.name or "")
        tensors.append(Tensor(i, name, dtype, shape, scales, zps, qdim, arr))

    ops: list[Op] = []
    for i, o in enumerate(sg.operators or []):
        if o.opcodeIndex >= len(codes):
            raise TFLiteReadError(f"operator {i} refers to a missing op code")
        ops.append(Op(
            index=i,
            name=opcode_names[o.opcodeIndex],
            inputs=[int(x) for x in (o.inputs if o.inputs is not None else [])],
            outputs=[int(x) for x in (o.outputs if o.outputs is not None else [])],
            options=o.builtinOptions,
            version=int(codes[o.opcodeIndex].version or 1),
        ))
    desc = model.description or ""
    if isinstance(desc, bytes):
        desc = desc.decode("utf-8", "replace")
    return Graph(
        tensors=tensors,
        ops=ops,
        inputs=[int(x) for x in (sg.inputs if sg.inputs is not None else [])],
        outputs=[int(x) for x in (sg.outputs if sg.outputs is not None else [])],
        description=desc,
        opcode_names=opcode_names,
    )
