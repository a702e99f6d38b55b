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


# What a loaded Model keeps on MicroPython's heap (ulab_ml/__init__.py's Model.load), block for
# block. MicroPython's GC hands out blocks of 4 words (16 bytes on a 32-bit board, 32 on a
# 64-bit port such as the unix one), so every allocation is rounded up to whole blocks.
# docs/MEMORY.md ("What Model.load allocates") explains each term; tests/test_heap.py measures
# them (gc.mem_alloc()) on the unix port, qemu-m0 and qemu-m4, with the native module.
GC_BLOCK_WORDS = 4
# Engine state: sizeof(uml_model_t) (natmod/engine/uml.h) with 4-byte / 8-byte pointers.
STATE_BYTES = {4: 88, 8: 152}
STATE_BYTES_32BIT = STATE_BYTES[4]
# Attributes a Model instance sets on itself (its attribute table grows through MicroPython's
# hash table sizes 2, 4, ..., 17, 23, 29, ... and only when full: 22 or 23 attributes take 23
# slots of 2 words).
MODEL_ATTRIBUTES = {"ram": 22, "inplace": 22, "stream": 23}
_MAP_SIZES = (0, 2, 4, 6, 8, 10, 12, 17, 23, 29, 37, 47, 59, 73, 97, 127)
# Model.backend, "native-<arch>": the longest, "native-armv7emsp", is 16 characters.
BACKEND_NAME_MAX = 16
# The open file of a streamed model: the filesystem's file object. The allowance is littlefs v2
# on an RP2040 (MicroPython's rp2 port mounts VfsLfs2(progsize=256): a 1,024-byte per-file cache
# inside a 124-byte file object), the largest of the usual ones: ROMFS's (VfsRom) is 16 bytes,
# littlefs with the default 128-byte cache 252 (qemu boards), FAT's (FF_FS_TINY) has no cache.
STREAM_FILE_BYTES_32BIT = 124 + 1024


def map_slots(n: int) -> int:
    """Slots of a MicroPython hash table (an instance's attributes) holding n entries."""
    return next(s for s in _MAP_SIZES if s >= n)


def ram_per_mode(blob: Blob, word_bytes: int = 4, file_object_bytes: int = STREAM_FILE_BYTES_32BIT) -> dict[str, int]:
    """Bytes of heap a loaded model keeps, per weights mode: everything Model.load allocates and
    keeps (its buffers, the Model object and its attributes, the open file of a streamed model),
    in the GC's blocks. An upper bound: the backend name is counted at its longest, and the
    streamed model's file object as file_object_bytes (default: littlefs on an RP2040; ROMFS's
    is 16 bytes, the unix port's 16 bytes of 8-byte words). Defaults: a 32-bit board;
    word_bytes=8 gives a 64-bit port's figures (the unix port). Temporary objects Model.load
    drops again are not counted (docs/MEMORY.md, "What Model.load allocates")."""
    w = word_bytes
    block = GC_BLOCK_WORDS * w

    def heap(n: int) -> int:  # one allocation of n bytes, in whole blocks
        return max(1, -(-n // block)) * block

    def buffer(n: int) -> int:  # a bytearray or array: its object (4 words) and its items
        return heap(4 * w) + heap(n)

    def objects(mode: str) -> int:  # the Model instance and the Python objects it keeps
        return (heap(4 * w)                                # the instance (type, attribute map)
                + heap(2 * w * map_slots(MODEL_ATTRIBUTES[mode]))  # its attribute table
                + heap((2 + (5 if mode == "stream" else 3)) * w)    # the context tuple passed to run()
                + heap((2 + len(blob.input.shape)) * w)    # input_shape
                + heap((2 + len(blob.output.shape)) * w)   # output_shape
                + 2 * heap(2 * w)                          # input_scale, output_scale (floats)
                + heap(4 * w) + heap(BACKEND_NAME_MAX + 1))  # backend (str object and its bytes)

    def base(mode: str) -> int:  # state, arena, output buffer and objects: every mode
        return (objects(mode) + buffer(STATE_BYTES[w]) + buffer(blob.arena_size or 16)
                + buffer(blob.output.nbytes))

    return {
        "ram": base("ram") + buffer(blob.size),
        "inplace": base("inplace"),
        "stream": (base("stream") + buffer(blob.const_off) + buffer(max(blob.max_const_span, 256))
                   + heap(file_object_bytes)),
    }
