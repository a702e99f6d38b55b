"""Packing (stage 4): a LoweredModel and its MemoryPlan -> blob bytes (docs/FORMAT.md)."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from .format import (
    CONST_ALIGN,
    DTYPES,
    HEADER_SIZE,
    MAGIC,
    NO_TENSOR,
    OP_SIZE,
    OPCODES,
    SECTION_ALIGN,
    STORAGE_ARENA,
    STORAGE_CONST,
    TENSOR_SIZE,
    VERSION_MAJOR,
    VERSION_MINOR,
)
from .lowering import LoweredModel
from .plan import MemoryPlan

HEADER_FMT = "<4sHHIIIIIHHHHIIIIIII"
TENSOR_FMT = "<BBBB4iIIiII"
OP_FMT = "<BBBBHHIIIIII"
assert struct.calcsize(HEADER_FMT) == HEADER_SIZE
assert struct.calcsize(TENSOR_FMT) == TENSOR_SIZE
assert struct.calcsize(OP_FMT) == OP_SIZE


def _pad(buf: bytearray, align: int) -> None:
    buf.extend(b"\0" * (-len(buf) % align))


def _f32_bits(x: float) -> int:
    return int(np.array([x], dtype="<f4").view("<u4")[0])


def blob_crc(blob: bytes | bytearray) -> int:
    """CRC-32 of every byte but the CRC field: [0, 12) then [16, blob_size)."""
    size = struct.unpack_from("<I", blob, 8)[0]
    return zlib.crc32(bytes(blob[16:size]), zlib.crc32(bytes(blob[:12]))) & 0xFFFFFFFF


def pack(model: LoweredModel, plan: MemoryPlan) -> bytes:
    # Const section: each op's constant inputs contiguous, in op order, so an op's
    # constants form one span that can be streamed or used in place.
    const = bytearray()
    const_offset: dict[int, int] = {}
    spans: list[tuple[int, int]] = []
    for op in model.ops:
        for tid in op.inputs:
            if tid is None or model.tensors[tid].const is None:
                continue
            if tid in const_offset:
                raise ValueError("a constant tensor is shared by two ops; lowering must not do this")
            _pad(const, CONST_ALIGN)
            const_offset[tid] = len(const)
            data = model.tensors[tid].const
            assert data is not None
            const.extend(data)
        ids = [tid for tid in op.inputs if tid is not None and tid in const_offset]
        if ids:
            start = min(const_offset[t] for t in ids)
            end = max(const_offset[t] + model.tensors[t].nbytes for t in ids)
            spans.append((start, end - start))
        else:
            spans.append((0, 0))
    _pad(const, CONST_ALIGN)

    tensors = bytearray()
    for tid, t in enumerate(model.tensors):
        if t.const is not None:
            if tid not in const_offset:
                raise ValueError(f"constant tensor {t.name} is used by no op")
            storage, offset = STORAGE_CONST, const_offset[tid]
        else:
            storage, offset = STORAGE_ARENA, plan.tensor_offsets[tid]
        dims = list(t.shape) + [1] * (4 - len(t.shape))
        tensors += struct.pack(TENSOR_FMT, DTYPES[t.dtype], len(t.shape), storage, 0, *dims,
                               offset, t.nbytes, int(t.zero_point), _f32_bits(t.scale), 0)

    params = bytearray()
    ops = bytearray()
    for i, op in enumerate(model.ops):
        off = len(params)
        ids = [NO_TENSOR if tid is None else tid for tid in op.inputs]
        params += struct.pack(f"<{len(ids)}H", *ids)
        _pad(params, 4)
        params += struct.pack(f"<{len(op.params)}i", *op.params)
        cstart, csize = spans[i]
        ops += struct.pack(OP_FMT, OPCODES[op.opcode], len(op.inputs), 0, 0, op.output, 0,
                           off, len(params) - off, cstart, csize,
                           plan.scratch_offsets.get(i, 0), op.scratch_size)

    io = bytearray(struct.pack(f"<{len(model.inputs) + len(model.outputs)}H", *model.inputs, *model.outputs))
    body = bytearray()
    offsets = {}
    for name, sec in (("tensors", tensors), ("ops", ops), ("params", params), ("io", io)):
        _pad(body, SECTION_ALIGN)
        offsets[name] = HEADER_SIZE + len(body)
        body += sec
    # The const section comes last, 16-byte aligned in the blob.
    _pad(body, CONST_ALIGN)
    while (HEADER_SIZE + len(body)) % CONST_ALIGN:
        body += b"\0"
    offsets["const"] = HEADER_SIZE + len(body)
    body += const
    size = HEADER_SIZE + len(body)
    head = struct.pack(HEADER_FMT, MAGIC, VERSION_MAJOR, VERSION_MINOR, size, 0, HEADER_SIZE, 0,
                       plan.arena_size, len(model.tensors), len(model.ops), len(model.inputs),
                       len(model.outputs), offsets["tensors"], offsets["ops"], offsets["params"],
                       len(params), offsets["const"], len(const), offsets["io"])
    blob = bytearray(head + body)
    crc = blob_crc(blob)
    struct.pack_into("<I", blob, 12, crc)
    return bytes(blob)
