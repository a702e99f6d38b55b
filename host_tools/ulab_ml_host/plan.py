"""Memory planning (stage 3): one arena offset for every activation tensor and op scratch.

Lifetimes come from the op order: a tensor lives from the op that writes it (model inputs:
from the start) to the last op that reads it (model outputs: to the end). RESHAPE outputs
alias their input (same bytes). Buffers are placed greedily, largest first, at the lowest
offset that does not overlap any placed buffer alive at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .format import ARENA_ALIGN
from .lowering import LoweredModel

ALIAS_OPS = {"RESHAPE"}


@dataclass
class Buffer:
    tensors: list[int]        # lowered tensor ids sharing these bytes (-1-k: scratch of op k)
    size: int
    first: int                # first op index alive (-1: before the first op)
    last: int                 # last op index alive
    offset: int = -1


@dataclass
class MemoryPlan:
    arena_size: int
    tensor_offsets: dict[int, int]
    scratch_offsets: dict[int, int]
    buffers: list[Buffer]


def _align(n: int) -> int:
    return (n + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN


def plan_memory(model: LoweredModel) -> MemoryPlan:
    n_ops = len(model.ops)
    group: dict[int, int] = {}        # arena tensor -> buffer index
    buffers: list[Buffer] = []

    def buffer_of(tid: int) -> Buffer:
        if tid not in group:
            group[tid] = len(buffers)
            buffers.append(Buffer([tid], model.tensors[tid].nbytes, n_ops, -1))
        return buffers[group[tid]]

    def touch(tid: int, when: int) -> None:
        b = buffer_of(tid)
        b.first = min(b.first, when)
        b.last = max(b.last, when)

    for tid in model.inputs:
        touch(tid, -1)
    for i, op in enumerate(model.ops):
        for tid in op.inputs:
            if tid is not None and model.tensors[tid].const is None:
                touch(tid, i)
        if op.opcode in ALIAS_OPS and op.inputs and op.inputs[0] is not None \
                and model.tensors[op.inputs[0]].const is None and op.output not in group:
            b = buffer_of(op.inputs[0])
            group[op.output] = group[op.inputs[0]]
            b.tensors.append(op.output)
            b.size = max(b.size, model.tensors[op.output].nbytes)
        touch(op.output, i)
    for tid in model.outputs:
        touch(tid, n_ops)
    scratch_index: dict[int, int] = {}
    for i, op in enumerate(model.ops):
        if op.scratch_size:
            scratch_index[i] = len(buffers)
            buffers.append(Buffer([-1 - i], op.scratch_size, i, i))

    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.first)):
        offset = 0
        for p in sorted((p for p in placed if p.first <= b.last and b.first <= p.last),
                        key=lambda p: p.offset):
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
    arena = _align(max((b.offset + b.size for b in buffers), default=0))
    tensor_offsets = {tid: buffers[g].offset for tid, g in group.items()}
    scratch_offsets = {i: buffers[k].offset for i, k in scratch_index.items()}
    return MemoryPlan(arena, tensor_offsets, scratch_offsets, buffers)
