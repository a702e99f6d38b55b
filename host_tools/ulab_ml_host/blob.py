"""Read a ulab_ml blob back (for inspect and run on the host). Mirrors docs/FORMAT.md."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from .format import DTYPE_NAMES, HEADER_SIZE, MAGIC, NO_TENSOR, OP_SIZE, OPCODE_NAMES, TENSOR_SIZE
from .pack import HEADER_FMT, OP_FMT, TENSOR_FMT, blob_crc


class BlobError(ValueError):
    pass


@dataclass
class BlobTensor:
    dtype: str
    shape: tuple[int, ...]
    storage: str
    offset: int
    nbytes: int
    zero_point: int
    scale: float


@dataclass
class BlobOp:
    opcode: str
    inputs: list[int | None]
    output: int
    params: list[int]
    const_span: tuple[int, int]
    scratch: tuple[int, int]


@dataclass
class Blob:
    version: tuple[int, int]
    size: int
    arena_size: int
    const_off: int
    const_size: int
    tensors: list[BlobTensor]
    ops: list[BlobOp]
    inputs: list[int]
    outputs: list[int]

    @property
    def input(self) -> BlobTensor:
        return self.tensors[self.inputs[0]]

    @property
    def output(self) -> BlobTensor:
        return self.tensors[self.outputs[0]]

    @property
    def max_const_span(self) -> int:
        return max((op.const_span[1] for op in self.ops), default=0)


def parse_blob(data: bytes) -> Blob:
    if len(data) < HEADER_SIZE or data[:4] != MAGIC:
        raise BlobError("not a ulab_ml model (bad magic)")
    h = struct.unpack_from(HEADER_FMT, data, 0)
    (_, vmaj, vmin, size, crc, _hsize, _flags, arena, n_t, n_o, n_in, n_out, t_off, o_off,
     p_off, p_size, c_off, c_size, io_off) = h
    if size > len(data):
        raise BlobError("model is truncated")
    if blob_crc(data) != crc:
        raise BlobError("CRC mismatch")
    try:
        tensors = []
        for i in range(n_t):
            f = struct.unpack_from(TENSOR_FMT, data, t_off + i * TENSOR_SIZE)
            dtype, rank, storage, _layout = f[:4]
            dims = f[4:8]
            scale = float(np.array([f[11]], dtype="<u4").view("<f4")[0])
            tensors.append(BlobTensor(DTYPE_NAMES[dtype], tuple(dims[:rank]),
                                      "const" if storage else "arena", f[8], f[9], f[10], scale))
        ops = []
        for i in range(n_o):
            f = struct.unpack_from(OP_FMT, data, o_off + i * OP_SIZE)
            opcode, n_inputs, _, _, output, _, poff, psize, coff, csize, soff, ssize = f
            ids = struct.unpack_from(f"<{n_inputs}H", data, p_off + poff)
            ids_size = (2 * n_inputs + 3) & ~3
            params = struct.unpack_from(f"<{(psize - ids_size) // 4}i", data, p_off + poff + ids_size)
            ops.append(BlobOp(OPCODE_NAMES.get(opcode, f"OP{opcode}"),
                              [None if x == NO_TENSOR else x for x in ids], output, list(params),
                              (coff, csize), (soff, ssize)))
        io = struct.unpack_from(f"<{n_in + n_out}H", data, io_off)
    except (struct.error, KeyError) as exc:
        raise BlobError(f"corrupt model: {exc}") from exc
    return Blob((vmaj, vmin), size, arena, c_off, c_size, tensors, ops, list(io[:n_in]), list(io[n_in:]))


# Engine state on a 32-bit board (sizeof(uml_model_t) with 4-byte pointers), in bytes.
STATE_BYTES_32BIT = 88


def ram_per_mode(blob: Blob) -> dict[str, int]:
    """Bytes of heap a loaded model takes on a 32-bit board, per weights mode (buffers only;
    the Model object and its attributes add a few hundred bytes of Python objects)."""
    base = blob.arena_size + blob.output.nbytes + STATE_BYTES_32BIT
    return {
        "ram": blob.size + base,
        "inplace": base,
        "stream": blob.const_off + max(blob.max_const_span, 256) + base,
    }
