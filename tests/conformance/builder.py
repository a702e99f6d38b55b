"""Build small .tflite models with the TFLite schema object API, for conformance cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np

from ulab_ml_host.schema import schema

TYPES = {"float32": schema.TensorType.FLOAT32, "int8": schema.TensorType.INT8,
         "int16": schema.TensorType.INT16, "int32": schema.TensorType.INT32,
         "uint8": schema.TensorType.UINT8, "int64": schema.TensorType.INT64}
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PAD = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


@dataclass
class Case:
    name: str
    model: bytes              # .tflite bytes
    inputs: np.ndarray        # (N, *input_shape)


class ModelBuilder:
    """Add tensors and ops, then build() the .tflite bytes."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [schema.BufferT()]
        self.operators: list[Any] = []
        self.opcodes: list[int] = []

    def tensor(self, shape: tuple[int, ...] | list[int], dtype: str = "int8",
               scale: float | list[float] | np.ndarray | None = None,
               zero_point: int | list[int] | np.ndarray | None = None,
               data: np.ndarray | None = None, quantized_dimension: int = 0,
               name: str | None = None) -> int:
        t = schema.TensorT()
        t.shape = list(int(d) for d in shape)
        t.type = TYPES[dtype]
        t.name = name or f"t{len(self.tensors)}"
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            zp = np.zeros(len(q.scale), dtype=np.int64) if zero_point is None else np.atleast_1d(zero_point)
            q.zeroPoint = [int(z) for z in zp]
            q.quantizedDimension = quantized_dimension
            t.quantization = q
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes(),
                                   dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, name: str, inputs: list[int], outputs: list[int], options: Any = None,
           options_type: str | None = None) -> None:
        code = getattr(schema.BuiltinOperator, name)
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = schema.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(schema.BuiltinOptions, options_type or type(options).__name__[:-1])
            o.builtinOptions = options
        self.operators.append(o)

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        m = schema.ModelT()
        m.version = 3
        codes = []
        for c in self.opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = list(inputs)
        sg.outputs = list(outputs)
        sg.operators = self.operators
        m.subgraphs = [sg]
        m.buffers = self.buffers
        m.description = "ulab_ml conformance case"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def options(cls_name: str, **fields: Any) -> Any:
    """An options object, e.g. options('Conv2DOptionsT', strideW=1, padding=PAD['SAME'])."""
    o = getattr(schema, cls_name)()
    for k, v in fields.items():
        if not hasattr(o, k):
            raise AttributeError(f"{cls_name} has no field {k}")
        setattr(o, k, v)
    return o


def random_scale(rng: np.random.Generator, lo: float = 1e-3, hi: float = 0.1) -> float:
    return float(np.float32(np.exp(rng.uniform(np.log(lo), np.log(hi)))))


def random_int8(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)
