"""Constants of the ulab_ml blob format (docs/FORMAT.md; C view: natmod/engine/format.h)."""

from __future__ import annotations

MAGIC = b"ULML"
VERSION_MAJOR = 1
VERSION_MINOR = 0
HEADER_SIZE = 64
TENSOR_SIZE = 40
OP_SIZE = 32
MAX_RANK = 4
MAX_INPUTS = 16
MAX_IO = 4
NO_TENSOR = 0xFFFF
SECTION_ALIGN = 4
ARENA_ALIGN = 16
CONST_ALIGN = 16

DTYPES: dict[str, int] = {"int8": 1, "uint8": 2, "int16": 3, "int32": 4, "float32": 5}
DTYPE_NAMES: dict[int, str] = {v: k for k, v in DTYPES.items()}
DTYPE_SIZES: dict[str, int] = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "float32": 4}

STORAGE_ARENA = 0
STORAGE_CONST = 1

OPCODES: dict[str, int] = {
    "CONV_2D": 1,
    "DEPTHWISE_CONV_2D": 2,
    "FULLY_CONNECTED": 3,
    "AVERAGE_POOL_2D": 4,
    "MAX_POOL_2D": 5,
    "MEAN": 6,
    "ADD": 7,
    "SUB": 8,
    "MUL": 9,
    "CONCATENATION": 10,
    "PAD": 11,
    "RESHAPE": 12,
    "SOFTMAX": 13,
    "LOGISTIC": 14,
    "TANH": 15,
    "RELU": 16,
    "HARD_SWISH": 17,
    "QUANTIZE": 18,
    "DEQUANTIZE": 19,
}
OPCODE_NAMES: dict[int, str] = {v: k for k, v in OPCODES.items()}
