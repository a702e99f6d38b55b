"""The arena a model needs in the CMSIS-NN build of the native module (docs/CMSIS_NN.md).

That build keeps CMSIS-NN's scratch buffers at the tail of the arena: at load the engine adds,
after the planned arena rounded up to 16 bytes, the largest scratch any op's CMSIS-NN call needs
(natmod/kernels/cmsis_nn.c, uml_cmsis_nn_arena_size), so `Model.arena_size` on the board is the
planned arena plus that tail. This module computes the same figure on the host, from the blob's
shapes and parameters alone, as the glue does: which ops CMSIS-NN takes (its gates), and per op
CMSIS-NN's buffer size (its *_get_buffer_size formulas for GCC builds without Helium, which depend
on whether the core has the DSP extension: armv7emsp / armv7emdp do, armv6m, armv7m and x64 do
not) plus the glue's own per-channel requantization copy and zero bias. Tested against the
boards' `Model.arena_size` (tests/test_cmsis_nn.py).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .blob import Blob, BlobOp, BlobTensor

# Native-module architectures whose CMSIS-NN build takes the DSP-extension paths (ARM_MATH_DSP).
DSP_ARCHS = ("armv7emsp", "armv7emdp")
ARCHS = ("x64", "x86", "armv6m", "armv7m", "armv7emsp", "armv7emdp")

GEOM_LIMIT = 32767
INT32_MAX = 2**31 - 1
# Parameter words (natmod/kernels/conv.h, pool_2d.h, fully_connected.c).
CONV = ("input_offset", "output_offset", "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_h", "pad_w",
        "act_min", "act_max")
POOL = ("stride_h", "stride_w", "filter_h", "filter_w", "pad_h", "pad_w", "act_min", "act_max")
FC_COUNT = 5


def has_dsp(arch: str) -> bool:
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r} (one of {', '.join(ARCHS)})")
    return arch in DSP_ARCHS


def _align(v: int, a: int) -> int:
    return (v + a - 1) // a * a


def _dims4(t: BlobTensor) -> tuple[int, int, int, int]:
    d = tuple(t.shape) + (1,) * (4 - len(t.shape))
    return d[0], d[1], d[2], d[3]


def _dim_ok(v: int) -> bool:
    return 1 <= v <= GEOM_LIMIT


def _axis_ok(n_in: int, n_out: int, k: int, stride: int, dil: int, pad: int) -> bool:
    return (_dim_ok(n_in) and _dim_ok(n_out) and _dim_ok(k) and _dim_ok(stride) and _dim_ok(dil)
            and 0 <= pad <= GEOM_LIMIT and (n_out - 1) * stride + (k - 1) * dil <= GEOM_LIMIT)


def _int8_rank4(t: BlobTensor) -> bool:
    return t.dtype == "int8" and len(t.shape) == 4


def _shares_bytes(a: BlobTensor, b: BlobTensor) -> bool:
    return (a.storage == "arena" and b.storage == "arena" and a.offset < b.offset + b.nbytes
            and b.offset < a.offset + a.nbytes)


def _elems(t: BlobTensor) -> int:
    return int(np.prod(t.shape, dtype=np.int64))


def _im2col_bytes(kh: int, kw: int, in_c: int) -> int:
    """arm_convolve_s8_get_buffer_size (no Helium): two im2col columns of int16, each padded to a
    multiple of 4 values."""
    return 2 * _align(kw * kh * in_c, 4) * 2


def _requant_bytes(blob: Blob, op: BlobOp, ch: int) -> int:
    """The glue's per-channel copy of a per-tensor multiplier and shift, and zeros for no bias."""
    per_tensor = _elems(blob.tensors[op.inputs[3]]) == 1  # type: ignore[index]
    return (8 * ch if per_tensor else 0) + (4 * ch if op.inputs[2] is None else 0)


def _conv_geometry(blob: Blob, op: BlobOp) -> dict[str, int] | None:
    if (len(op.inputs) != 5 or len(op.params) != len(CONV) or any(op.inputs[k] is None for k in (0, 1, 3, 4))):
        return None
    x, f, y = blob.tensors[op.inputs[0]], blob.tensors[op.inputs[1]], blob.tensors[op.output]  # type: ignore[index]
    if not (_int8_rank4(x) and _int8_rank4(y) and _int8_rank4(f)):
        return None
    p = dict(zip(CONV, op.params))
    (n, h, w, c), (on, oh, ow, oc), (fn, fh, fw, fc) = _dims4(x), _dims4(y), _dims4(f)
    if not (_dim_ok(c) and _dim_ok(oc) and n == on
            and _axis_ok(h, oh, fh, p["stride_h"], p["dilation_h"], p["pad_h"])
            and _axis_ok(w, ow, fw, p["stride_w"], p["dilation_w"], p["pad_w"])):
        return None
    return dict(p, n=n, h=h, w=w, c=c, oc=oc, fn=fn, fh=fh, fw=fw, fc=fc)


def _conv_2d(blob: Blob, op: BlobOp, dsp: bool) -> int | None:
    g = _conv_geometry(blob, op)
    if g is None or g["fn"] != g["oc"] or g["fc"] != g["c"]:
        return None
    one_by_one = (g["pad_w"] == 0 and g["pad_h"] == 0 and g["fh"] == 1 and g["fw"] == 1 and g["dilation_w"] == 1
                  and g["dilation_h"] == 1)
    unit_stride = g["stride_w"] == 1 and g["stride_h"] == 1
    x, y = blob.tensors[op.inputs[0]], blob.tensors[op.output]  # type: ignore[index]
    if one_by_one and unit_stride and _shares_bytes(x, y):
        buf = _im2col_bytes(1, 1, g["c"])  # the glue's in-place detour: arm_convolve_s8
    elif one_by_one:
        buf = 0  # arm_convolve_1x1_s8_fast / arm_convolve_1x1_s8 (GCC: no buffer, DSP or not)
    elif g["h"] == 1 and g["dilation_w"] == 1 and g["fh"] == 1 and (g["stride_w"] * g["c"]) % 4 == 0:
        buf = _im2col_bytes(g["fh"], g["fw"], g["c"])  # arm_convolve_1_x_n_s8
    else:
        buf = _im2col_bytes(g["fh"], g["fw"], g["c"])  # arm_convolve_s8
    return _align(buf, 16) + _requant_bytes(blob, op, g["oc"])


def _depthwise_conv_2d(blob: Blob, op: BlobOp, dsp: bool) -> int | None:
    g = _conv_geometry(blob, op)
    if g is None or g["fn"] != 1 or g["fc"] != g["oc"] or g["oc"] % g["c"] != 0:
        return None
    buf = 0
    if dsp and g["c"] == g["oc"] and g["n"] == 1 and g["dilation_w"] == 1 and g["dilation_h"] == 1 and not (
            g["fw"] == 3 and g["fh"] == 3 and g["pad_h"] <= 1 and g["pad_w"] <= 1):
        buf = g["c"] * g["fw"] * g["fh"] * 2  # arm_depthwise_conv_s8_opt: one int16 column
    return _align(buf, 16) + _requant_bytes(blob, op, g["oc"])


def _fully_connected(blob: Blob, op: BlobOp, dsp: bool) -> int | None:
    if len(op.inputs) != 5 or len(op.params) != FC_COUNT or any(op.inputs[k] is None for k in (0, 1, 3, 4)):
        return None
    x, f, y = blob.tensors[op.inputs[0]], blob.tensors[op.inputs[1]], blob.tensors[op.output]  # type: ignore[index]
    if x.dtype != "int8" or y.dtype != "int8" or f.dtype != "int8" or len(f.shape) != 2:
        return None
    if f.shape[1] == 0 or _elems(x) % f.shape[1] != 0:
        return None
    return 0  # arm_fully_connected_s8_get_buffer_size without Helium


def _pool(blob: Blob, op: BlobOp, dsp: bool, avg: bool) -> int | None:
    if len(op.inputs) != 1 or len(op.params) != len(POOL) or op.inputs[0] is None:
        return None
    x, y = blob.tensors[op.inputs[0]], blob.tensors[op.output]
    if not (_int8_rank4(x) and _int8_rank4(y)):
        return None
    p = dict(zip(POOL, op.params))
    (n, h, w, c), (on, oh, ow, oc) = _dims4(x), _dims4(y)
    if not (n == on and c == oc and _dim_ok(c) and _axis_ok(h, oh, p["filter_h"], p["stride_h"], 1, p["pad_h"])
            and _axis_ok(w, ow, p["filter_w"], p["stride_w"], 1, p["pad_w"])):
        return None
    return 4 * c if avg and dsp else 0  # arm_avgpool_s8's int32 sums (DSP); max pool: none


SCRATCH: dict[str, Callable[[Blob, BlobOp, bool], int | None]] = {
    "CONV_2D": _conv_2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv_2d,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": lambda b, o, d: _pool(b, o, d, True),
    "MAX_POOL_2D": lambda b, o, d: _pool(b, o, d, False),
}


def op_scratch(blob: Blob, op: BlobOp, arch: str) -> int | None:
    """Scratch bytes CMSIS-NN's call for op needs in the CMSIS-NN build for arch; 0 for ops that
    need none or that CMSIS-NN does not take (SOFTMAX, ADD, MUL, PAD, CONCATENATION and RESHAPE
    need none), None for a CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED / pool the glue leaves
    to our kernel (extents beyond CMSIS-NN's 16-bit loop variables)."""
    fn = SCRATCH.get(op.opcode)
    return 0 if fn is None else fn(blob, op, has_dsp(arch))


def scratch_tail(blob: Blob, arch: str) -> int:
    """Bytes the CMSIS-NN build adds after the planned arena (0 if no op needs scratch)."""
    return cmsis_nn_arena_size(blob, arch) - blob.arena_size


def cmsis_nn_arena_size(blob: Blob, arch: str) -> int:
    """Model.arena_size of the model in the CMSIS-NN build for arch (the device's
    uml_cmsis_nn_arena_size): the planned arena rounded up to 16 bytes plus the largest op's
    scratch rounded up to 16; the planned arena alone when no op needs scratch."""
    most = max((s for op in blob.ops if (s := op_scratch(blob, op, arch)) is not None), default=0)
    total = _align(blob.arena_size, 16) + _align(most, 16)
    return blob.arena_size if most == 0 or most > INT32_MAX or total > INT32_MAX else total
