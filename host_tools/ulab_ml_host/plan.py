"""Memory planning (stage 3): one arena offset for every activation tensor and op scratch.

Lifetimes come from the op order: a tensor lives from the op that writes it (model inputs:
from the start) to the last op that reads it (model outputs: to the end). Tensors that may
share bytes form one buffer, each at a fixed place inside it:
- a RESHAPE output aliases its input (same bytes);
- an op that reads its input in the order it writes its output (row by row for convolution
  and pooling, element by element for element-wise ops) may write its output over the input
  it reads for the last time, starting D bytes before it, where D is the smallest distance at
  which no output byte lands on an input byte still to be read (see overlap_distance).
Buffers are placed greedily, largest first, at the lowest offset that does not overlap any
placed buffer alive at the same time. The plan is made with and without overlapping and the
smaller arena is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .format import ARENA_ALIGN, DTYPE_SIZES
from .lowering import LOp, LoweredModel, LTensor

ALIAS_OPS = {"RESHAPE"}
ROW_OPS = {  # opcode -> (index of stride_h, index of pad_h) in the op's parameter words
    "CONV_2D": (2, 6),
    "DEPTHWISE_CONV_2D": (2, 6),
    "AVERAGE_POOL_2D": (0, 4),
    "MAX_POOL_2D": (0, 4),
}
ELEMENTWISE_OPS = {"RELU", "LOGISTIC", "TANH", "HARD_SWISH", "ADD", "SUB", "MUL"}


@dataclass
class Buffer:
    tensors: list[int]        # lowered tensor ids sharing these bytes (-1-k: scratch of op k)
    size: int
    first: int                # first op index alive (-1: before the first op)
    last: int                 # last op index alive
    offset: int = -1
    rel: dict[int, int] = field(default_factory=dict)  # tensor -> offset inside the buffer


@dataclass
class MemoryPlan:
    arena_size: int
    tensor_offsets: dict[int, int]
    scratch_offsets: dict[int, int]
    buffers: list[Buffer]


def _align(n: int) -> int:
    return (n + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN


def overlap_distance(op: LOp, tensors: list[LTensor]) -> tuple[int, int] | None:
    """(input position, D) when op may write its output starting D bytes before that input
    (over the input's bytes), or None. Kernels of these ops read and write in this order;
    natmod/engine/ops.h states the contract."""
    if not op.inputs or op.inputs[0] is None:
        return None
    out = tensors[op.output]
    if op.opcode in ROW_OPS:
        x = tensors[op.inputs[0]]
        if len(x.shape) != 4 or len(out.shape) != 4:
            return None
        si, pi = ROW_OPS[op.opcode]
        stride, pad = op.params[si], op.params[pi]
        batches, hi, wi, ci = x.shape
        _, ho, wo, co = out.shape
        ri, ro = wi * ci, wo * co           # bytes per row (int8)
        d = 0
        for b in range(batches):
            for oy in range(ho):
                first_needed = b * hi + min(max(0, oy * stride - pad), hi)
                d = max(d, (b * ho + oy + 1) * ro - first_needed * ri)
        return 0, _align(d)
    if op.opcode in ELEMENTWISE_OPS:
        for pos, tid in enumerate(op.inputs[:2]):
            if tid is None or tensors[tid].const is not None:
                continue
            t = tensors[tid]
            if t.shape == out.shape and DTYPE_SIZES[t.dtype] == DTYPE_SIZES[out.dtype]:
                return pos, 0
    return None


def _plan(model: LoweredModel, overlap: bool) -> MemoryPlan:
    n_ops = len(model.ops)
    arena = [t.const is None for t in model.tensors]
    first: dict[int, int] = {t: -1 for t in model.inputs}
    last: dict[int, int] = {t: -1 for t in model.inputs}
    for i, op in enumerate(model.ops):
        for tid in op.inputs:
            if tid is not None and arena[tid]:
                last[tid] = i
        first.setdefault(op.output, i)
        last[op.output] = max(last.get(op.output, i), i)
    for tid in model.outputs:
        last[tid] = n_ops

    group: dict[int, int] = {}
    buffers: list[Buffer] = []

    def new_buffer(tid: int) -> None:
        group[tid] = len(buffers)
        buffers.append(Buffer([tid], model.tensors[tid].nbytes, first[tid], last[tid], rel={tid: 0}))

    def join(tid: int, b: Buffer, rel: int) -> None:
        if rel < 0:  # shift every member up so that the buffer starts at 0
            b.rel = {t: r - rel for t, r in b.rel.items()}
            rel = 0
        group[tid] = group[b.tensors[0]]
        b.tensors.append(tid)
        b.rel[tid] = rel
        b.size = max(r + model.tensors[t].nbytes for t, r in b.rel.items())
        b.first, b.last = min(b.first, first[tid]), max(b.last, last[tid])

    for tid in model.inputs:
        new_buffer(tid)
    for i, op in enumerate(model.ops):
        if op.output in group:
            continue
        src = op.inputs[0] if op.inputs else None
        if op.opcode in ALIAS_OPS and src is not None and arena[src]:
            b = buffers[group[src]]
            join(op.output, b, b.rel[src])
            continue
        ov = overlap_distance(op, model.tensors) if overlap else None
        if ov is not None:
            tin = op.inputs[ov[0]]
            assert tin is not None
            b = buffers[group[tin]]
            if b.last == i and tin not in model.outputs:  # every member read for the last time here
                join(op.output, b, b.rel[tin] - ov[1])
                continue
        new_buffer(op.output)

    scratch_index: dict[int, int] = {}
    for i, op in enumerate(model.ops):
        if op.scratch_size:
            scratch_index[i] = len(buffers)
            buffers.append(Buffer([-1 - i], op.scratch_size, i, i, rel={-1 - i: 0}))

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
    arena_size = _align(max((b.offset + b.size for b in buffers), default=0))
    tensor_offsets = {tid: buffers[g].offset + buffers[g].rel[tid] for tid, g in group.items()}
    scratch_offsets = {i: buffers[k].offset for i, k in scratch_index.items()}
    return MemoryPlan(arena_size, tensor_offsets, scratch_offsets, buffers)


def plan_memory(model: LoweredModel) -> MemoryPlan:
    plans = [_plan(model, overlap=True), _plan(model, overlap=False)]
    return min(plans, key=lambda p: p.arena_size)
