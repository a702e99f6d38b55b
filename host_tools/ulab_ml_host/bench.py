"""Instruction counts per inference on an emulated board: `ulab-ml bench` (QEMU under -icount).

Method
------
QEMU runs the board with ``-icount shift=8,align=off,sleep=off``: every guest instruction
advances the virtual clock by exactly 2^8 = 256 ns, whatever the host does. A free-running
counter clocked from that virtual clock is read on the board right before and right after the
measured Python statement:

- qemu-m3/qemu-m4 (MPS2 AN385/AN386): the FPGAIO COUNTER register at 0x40028018, 25 MHz
  (40 ns per tick: 6.4 ticks per instruction);
- qemu-m0 (QEMU ``microbit``, an nRF51, which has no FPGAIO): TIMER0 in 32-bit timer mode with
  prescaler 1, i.e. 8 MHz (125 ns per tick: 2.048 ticks per instruction), read by triggering
  TASKS_CAPTURE[0] and loading CC[0]. (Prescaler 0 would give 16 MHz, but QEMU converts
  16 MHz ticks back to whole nanoseconds, truncating 62.5 ns, and the count drifts; 8 MHz
  is exact.)

A counter that ticks every P ns, read at two instants n instructions apart, differs by
floor(t0 + n*256/P) - floor(t0) ticks: within 1 tick of n*256/P. With more than two ticks per
instruction (256/P > 2) that pins n down exactly: n = round(ticks * P / 256). So every
interval between two counter reads is known to the instruction (error bound 0), without
phase-locking the reads to tick edges. A slow second counter (FPGAIO CLK100HZ; nRF51 TIMER1 at
31.25 kHz) is read alongside, only to count how often the fast one wrapped around in between.
The reads are a few instructions of viper code that allocate nothing; the cost of the statement
between them is the interval minus an empty measurement (the two reads with nothing between),
the same code path and so the same count every time (every name inside the measured window
is a local: a global's lookup goes through MicroPython's map lookup cache, and whether it hits
depends on where the bytecode lies). Each boot checks this on a calibration
loop of known length (inline assembler, 2 instructions per iteration): spin(1001) must measure
exactly 2000 instructions more than spin(1), or the bench fails.

Measured statements run with the heap locked (micropython.heap_lock()): no GC can start inside
one, and no figure depends on the heap's state. (Model.infer's frame is larger than the 11
words MicroPython keeps on the C stack, so an unlocked call allocates it on the heap, at a cost
that depends on fragmentation; locked, it falls back to the C stack.)

What is measured, per model (the model is loaded once; a seeded random input), in one of three
weights modes (``--mode``; ``weights_mode`` in the JSON):

- ``inplace`` (default): the weights used where they lie in the ROMFS image in flash, as a model
  frozen into a board's ROMFS: ``Model.load(memoryview(file), "inplace")``;
- ``ram``: the model file copied to the board's littlefs filesystem first (as a model file on an
  RP2040's flash), then ``Model.load(path, "ram")`` reads it into one bytearray;
- ``stream``: the same file, ``Model.load(path, "stream")``: every ``infer()`` reads each op's
  weights from the file into one buffer (littlefs reads included in the count);
  ``stream_bytes_per_inference`` is the bytes it reads per inference (the device's
  ``Model.stream_bytes_per_infer``, as ``ulab-ml inspect`` reports), ``stream_buffer_bytes``
  the buffer's size. No per-layer figures in this mode (``run_op`` needs the weights in memory).
  Each streamed model gets a boot of its own and is loaded before the calibration runs: a
  model made for streaming may need nearly all of the heap in two blocks (weights buffer and
  arena: 133 KB of the 145 KB qemu-m0 has free for mlperf_vww_mobilenet).

- ``load_instructions``: ``Model.load`` (parse, validate, CRC of the whole blob, allocation of
  the arena and state, and reading the file in ram/stream mode; not heap-locked, so it can
  differ by a few hundred instructions between a single-model run and a batch).
- ``instructions``: one ``model.infer(x)`` call (what a user calls), the second of two calls
  (``first_instructions`` is the first, a few hundred instructions more).
- per layer, ``instructions``: the native ``run_op(state, blob, arena, i, ...)`` call for op i
  minus the same call on an op that does nothing (the middle one of 3 RESHAPEs whose outputs
  alias their inputs: ``run_op_call_instructions``). So it is the op's kernel plus the engine's
  operand setup, and for the first and last op the copy of the input into the arena and of the
  output out (``infer`` copies them too). ``kernel_instructions``: without those copies (op 0
  is run again on the input put back into the arena; the last op again if it doesn't compute
  in place), as a CMSIS-NN kernel call would be counted.
- The accounting is exact: ``instructions`` = sum of the layers + ``call_instructions`` (the
  fixed cost of an infer() call) + ops x ``dispatch_instructions`` (the engine's per-op loop),
  both taken from do-nothing models of 1 and 3 ops; ``residual_instructions`` is what is left
  (0 on every model tried). ``overhead_instructions`` = ``instructions`` - sum of the layers.

All figures are guest instruction counts, not cycles: QEMU does not model pipelines, wait
states or memory latency.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import flatbuffers
import numpy as np

from . import qemu
from .blob import Blob, parse_blob
from .convert import convert
from .paths import DEVICE_PACKAGE
from .schema import schema
from .targets import TargetError

ICOUNT_SHIFT = 8
CALIBRATION_ITERATIONS = 1001     # spin(1001) - spin(1) must be exactly 2000 instructions
BENCH_TARGETS = ("qemu-m0", "qemu-m3", "qemu-m4")


@dataclass(frozen=True)
class Counter:
    """A free-running counter on the board, clocked from QEMU's virtual clock."""

    kind: int        # 0: MPS2 FPGAIO COUNTER; 1: nRF51 TIMER0 capture
    hz: int
    description: str


COUNTERS = {
    "microbit": Counter(1, 8_000_000, "nRF51 TIMER0, 32-bit timer mode, prescaler 1 (8 MHz), "
                                      "read via TASKS_CAPTURE[0] -> CC[0]"),
    "mps2-an385": Counter(0, 25_000_000, "MPS2 FPGAIO COUNTER at 0x40028018 (25 MHz)"),
    "mps2-an386": Counter(0, 25_000_000, "MPS2 FPGAIO COUNTER at 0x40028018 (25 MHz)"),
}


def icount_args(shift: int = ICOUNT_SHIFT) -> tuple[str, ...]:
    return ("-icount", f"shift={shift},align=off,sleep=off")


def ticks_per_instruction(counter: Counter, shift: int = ICOUNT_SHIFT) -> Fraction:
    return Fraction(counter.hz * 2**shift, 10**9)


def ticks_to_instructions(ticks: int, counter: Counter, shift: int = ICOUNT_SHIFT) -> int:
    """Instructions between two counter reads `ticks` apart (exact when > 2 ticks per instruction)."""
    return round(Fraction(ticks) / ticks_per_instruction(counter, shift))


# Runs on the board (compiled by mpy-cross -march=armv6m, which every QEMU board can load: the
# viper and inline-assembler code below is ARMv6-M). Output lines (ticks are raw counter
# differences; the host converts them to instructions):
#   ULBM-READY <heap free>
#   ULBM-CAL <ticks spin(1)> <ticks spin(N)> <ticks empty>
#   ULBM-NULL <null1|null3> <ticks empty> <ticks infer()> <ticks run_op of null3's op 0 (copying
#             the input in), op 1, op 2 (copying the output out)> (x3 each)
#   per model k: ULBM-LOAD k <ticks empty> <ticks load> <mode> <stream bytes per inference>
#                <stream buffer bytes>
#                ULBM-INFER k <ticks first> <ticks second> <CRC-32 of the output>
#                ULBM-OP k i <ticks>           (per op)
#                ULBM-OPK k i <ticks>          (op 0 and maybe the last again, without copies)
#                ULBM-LOUT k <CRC-32 of the output after the per-op run>
#                ULBM-OK k | ULBM-ERR k <exception> <message>
#   ULBM-DONE <heap free>
BENCH_RUNNER = """
import gc
import os
import micropython
from array import array
from micropython import heap_lock, heap_unlock
import ulab_ml
from ulab_ml import Model

# Inside a measured window (between the two stamps) every name is a local: a global's lookup
# goes through MicroPython's map lookup cache, whose hits and misses (~140 instructions) depend
# on where the bytecode lies.
# T[0], T[1]: the fine counter at the two reads; T[2], T[3]: a coarse counter, only to count
# how often the fine one wrapped around (2^32 ticks) in between. K: fine ticks per coarse tick.
T = array("I", [0, 0, 0, 0])
K = 250000


@micropython.viper
def _fpga(buf, i: int):
    f = ptr32(0x40028000)
    p = ptr32(buf)
    p[i] = f[6]             # COUNTER (0x18), 25 MHz
    p[i + 2] = f[5]         # CLK100HZ (0x14)


@micropython.viper
def _nrf(buf, i: int):
    t0 = ptr32(0x40008000)
    t1 = ptr32(0x40009000)
    t0[16] = 1              # TIMER0 TASKS_CAPTURE[0]
    t1[16] = 1              # TIMER1 TASKS_CAPTURE[0]
    p = ptr32(buf)
    p[i] = t0[336]          # TIMER0 CC[0] (0x540), 8 MHz
    p[i + 2] = t1[336]      # TIMER1 CC[0], 31.25 kHz


@micropython.asm_thumb
def _spin(r0):
    label(loop)
    sub(r0, 1)
    bne(loop)


stamp = _fpga


def _d():
    fine = (T[1] - T[0]) & 0xFFFFFFFF
    coarse = (T[3] - T[2]) & 0xFFFFFFFF
    return fine + (((coarse * K - fine + 0x80000000) >> 32) << 32)


def t_empty():
    s, t = stamp, T
    heap_lock()
    s(t, 0)
    s(t, 1)
    heap_unlock()
    return _d()


def t_spin(n):
    s, t, spin = stamp, T, _spin
    heap_lock()
    s(t, 0)
    spin(n)
    s(t, 1)
    heap_unlock()
    return _d()


def t_call6(f, a, b, c, d, e, g):
    s, t = stamp, T
    heap_lock()
    s(t, 0)
    f(a, b, c, d, e, g)
    s(t, 1)
    heap_unlock()
    return _d()


def t_infer(m, x):
    s, t = stamp, T
    heap_lock()
    s(t, 0)
    m.infer(x)
    s(t, 1)
    heap_unlock()
    return _d()


def t_load(src, mode):
    s, t, load = stamp, T, Model.load
    s(t, 0)
    m = load(src, mode)
    s(t, 1)
    return m, _d()


def _free():
    gc.collect()
    return gc.mem_free()


def _load(root, k, mode):
    path = "%s/m%d.uml" % (root, k)
    gc.collect()
    if mode == "inplace":
        src = memoryview(open(path, "rb"))
    else:
        # The model file on the board's littlefs filesystem, as on a real board's flash.
        src = "/ulml_bench_m%d.uml" % k
        with open(path, "rb") as r:
            with open(src, "wb") as w:
                w.write(memoryview(r))
    gc.collect()
    e = t_empty()
    m, ld = t_load(src, mode)
    return m, e, ld


def run(root, kind, nops, cal_n, mode):
    global stamp, K
    if kind == 1:
        import machine
        for base, prescaler in ((0x40008000, 1), (0x40009000, 9)):
            machine.mem32[base + 0x004] = 1          # TASKS_STOP
            machine.mem32[base + 0x504] = 0          # MODE: timer
            machine.mem32[base + 0x508] = 3          # BITMODE: 32 bits
            machine.mem32[base + 0x510] = prescaler  # 16 MHz >> prescaler
            machine.mem32[base + 0x00C] = 1          # TASKS_CLEAR
            machine.mem32[base + 0x000] = 1          # TASKS_START
        stamp = _nrf
        K = 256
    nat = ulab_ml._backend()
    print("ULBM-READY", _free())
    # A streamed model's weights buffer and arena may need nearly all of the heap in two
    # blocks: its boot's one model (bench_models boots once per streamed model) is loaded
    # first, before the calibration's allocations can split the free space.
    pre = None
    if mode == "stream":
        try:
            pre = _load(root, 0, mode)
        except Exception as ex:
            pre = ex
    for _ in range(3):
        a = t_spin(1)
        b = t_spin(cal_n)
        e = t_empty()
    print("ULBM-CAL", a, b, e)
    # The do-nothing models: null1 (1 op) and null3 (3 ops), RESHAPEs whose output aliases
    # their input. Input: a 4-byte memoryview into the image, as the models' inputs are.
    xf = open(root + "/null.in", "rb")
    x = memoryview(xf)[:4]
    for name in ("null1", "null3"):
        mf = open("%s/%s.uml" % (root, name), "rb")
        # in RAM mode, the do-nothing models' blobs are bytearrays too (as the measured models'):
        # the native module's buffer access costs a few instructions more than a memoryview's
        m, _ = t_load(memoryview(mf), "ram" if mode == "ram" else "inplace")
        run_op = m._nat.run_op
        for _ in range(3):
            e = t_empty()
            d = t_infer(m, x)
            c = c0 = c2 = 0
            if name == "null3":
                c0 = t_call6(run_op, m._state, m._blob, m._arena, 0, x, None)
                c = t_call6(run_op, m._state, m._blob, m._arena, 1, None, None)
                c2 = t_call6(run_op, m._state, m._blob, m._arena, 2, None, m._out)
            print("ULBM-NULL", name, e, d, c0, c, c2)
        m.close()
        m = mf = None
    x = xf = None
    for k in range(len(nops)):
        m = fi = x = None
        try:
            if k == 0 and pre is not None:
                loaded, pre = pre, None
                if isinstance(loaded, Exception):
                    raise loaded
                m, e, ld = loaded
            else:
                m, e, ld = _load(root, k, mode)
            loaded = None
            print("ULBM-LOAD", k, e, ld, m.mode, m.stream_bytes_per_infer, m.stream_buffer_bytes)
            nb = m.input_bytes
            fi = open("%s/i%d.bin" % (root, k), "rb")
            xb = None
            if m.input_dtype == "float32":
                x = array("f", bytes(nb))
                fi.readinto(x)
                xb = bytes(x)  # the same bytes for a bytearray slice
            else:
                x = memoryview(fi)[:nb]
            a = t_infer(m, x)
            b = t_infer(m, x)
            print("ULBM-INFER", k, a, b, m._nat.crc32(m._out, 0))
            n, in_off, rerun_last = nops[k]
            if m.mode == "stream":
                n = 0  # run_op needs the weights in memory: no per-layer figures
            st = m._state
            bl = m._blob
            ar = m._arena
            out = m._out
            for i in range(len(out)):
                out[i] = 0
            run_op = m._nat.run_op
            for i in range(n):
                xi = x if i == 0 else None
                yo = out if i == n - 1 else None
                c = t_call6(run_op, st, bl, ar, i, xi, yo)
                print("ULBM-OP", k, i, c)
                # The kernel alone, without copying the input in or the output out: op 0 again
                # on the input put back where run_op(0, x) copies it (its output may have
                # overwritten it); the last op again if its output does not overlap its inputs.
                if i == 0:
                    ar[in_off:in_off + nb] = x if xb is None else xb
                    c = t_call6(run_op, st, bl, ar, 0, None, None)
                    print("ULBM-OPK", k, 0, c)
                elif i == n - 1 and rerun_last:
                    c = t_call6(run_op, st, bl, ar, i, None, None)
                    print("ULBM-OPK", k, i, c)
            if n:
                print("ULBM-LOUT", k, m._nat.crc32(out, 0))
            print("ULBM-OK", k)
        except Exception as ex:
            print("ULBM-ERR", k, type(ex).__name__, ex)
        if m is not None:
            m.close()
        if mode != "inplace":
            try:
                os.remove("/ulml_bench_m%d.uml" % k)
            except OSError:
                pass
        m = fi = x = xb = st = bl = ar = out = run_op = None
    print("ULBM-DONE", _free())
"""


@dataclass
class LayerResult:
    index: int
    op: str
    inputs: list[list[int]]
    output: list[int]
    macs: int
    instructions: int                   # run_op call minus a do-nothing op's (copies included)
    instructions_per_mac: float | None
    kernel_instructions: int | None     # without copying the input in / the output out


@dataclass
class BenchResult:
    """One model benchmarked on one board. All counts are instructions (not cycles)."""

    name: str
    target: str
    cpu: str
    instructions: int | None = None           # per inference: one infer() call
    first_instructions: int | None = None     # the first infer() after load
    load_instructions: int | None = None
    macs: int = 0
    instructions_per_mac: float | None = None
    layers: list[LayerResult] = field(default_factory=list)
    layers_sum: int | None = None
    overhead_instructions: int | None = None  # instructions - layers_sum
    call_instructions: int | float | None = None      # fixed cost of an infer() call
    dispatch_instructions: int | float | None = None  # infer()'s cost per op besides the layer's own
    residual_instructions: int | float | None = None  # instructions - (call + ops * dispatch + layers_sum)
    run_op_call_instructions: int | None = None   # a do-nothing run_op call (subtracted from each layer)
    error_bound_instructions: int = 0
    weights_mode: str = "inplace"
    stream_bytes_per_inference: int | None = None  # streamed mode: weight bytes read from the file per infer()
    stream_buffer_bytes: int | None = None         # streamed mode: the weights buffer
    error: str | None = None
    method: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def _tflite_null_model(n_ops: int) -> bytes:
    """A model of n_ops ops that do nothing: RESHAPEs of 4 int8 values onto the same bytes."""
    def tensor(name: str, shape: list[int]) -> object:
        t = schema.TensorT()
        t.shape, t.type, t.name, t.buffer = shape, schema.TensorType.INT8, name, 0
        q = schema.QuantizationParametersT()
        q.scale, q.zeroPoint = [0.1], [0]
        t.quantization = q
        return t

    oc = schema.OperatorCodeT()
    oc.builtinCode = oc.deprecatedBuiltinCode = schema.BuiltinOperator.RESHAPE
    oc.version = 1
    ops = []
    for i in range(n_ops):
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = 0, [i], [i + 1]
        ops.append(op)
    sg = schema.SubGraphT()
    shapes = [[1, 4], [4], [2, 2]]
    sg.tensors = [tensor(f"t{i}", shapes[i % 3]) for i in range(n_ops)] + [tensor("y", [1, 4])]
    sg.inputs, sg.outputs, sg.operators = [0], [n_ops], ops
    m = schema.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [oc], [sg], [schema.BufferT()]
    b = flatbuffers.Builder(512)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def null_blob(n_ops: int) -> bytes:
    """A do-nothing model (null3's middle op is the one measured as a bare run_op call)."""
    blob = convert(_tflite_null_model(n_ops)).blob
    p = parse_blob(blob)
    assert [op.opcode for op in p.ops] == ["RESHAPE"] * n_ops, "the null model must keep its RESHAPEs"
    assert len({t.offset for t in p.tensors}) == 1, "the null model's RESHAPEs must alias (no copy)"
    return blob


def _mpy_cross_armv6m(src: str, name: str, tmp: Path) -> bytes:
    py = tmp / f"{name}.py"
    py.write_text(src)
    out = tmp / f"{name}.mpy"
    proc = subprocess.run([str(qemu.MPY_CROSS), "-march=armv6m", "-o", str(out), "-s", f"{name}.py", str(py)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {name}.py: {proc.stderr.strip()}")
    return out.read_bytes()


def _inputs(blob_bytes: bytes, seed: int) -> bytes:
    b = parse_blob(blob_bytes)
    rng = np.random.default_rng(seed)
    shape = tuple(b.input.shape)
    if b.input.dtype == "float32":
        return rng.normal(0.0, 1.0, size=shape).astype("<f4").tobytes()
    return rng.integers(-128, 128, size=shape, dtype=np.int8).tobytes()


def _overlaps(b: Blob, i: int) -> bool:
    """Whether op i's output shares arena bytes with one of its inputs (computed in place)."""
    op = b.ops[i]
    out = b.tensors[op.output]
    for t in op.inputs:
        if t is not None and b.tensors[t].storage == "arena":
            x = b.tensors[t]
            if x.offset < out.offset + out.nbytes and out.offset < x.offset + x.nbytes:
                return True
    return False


def _describe(blob_bytes: bytes) -> dict:
    from .cli import describe  # cli imports this module lazily; no cycle at import time

    return describe(blob_bytes)


@dataclass
class _Raw:
    load: tuple[int, int] | None = None      # (empty ticks, load ticks)
    mode: str = ""
    stream_bytes: int = 0
    stream_buffer: int = 0
    infer: tuple[int, int] | None = None
    out_infer: str = ""
    out_layers: str = ""
    ops: dict[int, int] = field(default_factory=dict)
    kernel_ops: dict[int, int] = field(default_factory=dict)
    ok: bool = False
    error: str | None = None


def _boot(board: qemu.QemuBoard, counter: Counter, models: list[tuple[str, bytes]], seed: int, mode: str,
          tmp: Path, timeout: float, idle_timeout: float) -> tuple[dict[int, _Raw], dict]:
    """One QEMU boot benchmarking `models`; raw tick counts per model and the boot's calibration."""
    files: dict[str, bytes | dict] = {
        "ulab_ml": {"__init__.mpy": qemu._mpy_cross((DEVICE_PACKAGE / "__init__.py").read_text(),
                                                    "__init__", tmp)},
        board.natmod.name: board.natmod.read_bytes(),
        "ulml_bench.mpy": _mpy_cross_armv6m(BENCH_RUNNER, "ulml_bench", tmp),
        "null1.uml": null_blob(1),
        "null3.uml": null_blob(3),
        "null.in": bytes(4),
    }
    nops = []
    for k, (_, blob) in enumerate(models):
        files[f"m{k}.uml"] = blob
        files[f"i{k}.bin"] = _inputs(blob, seed)
        b = parse_blob(blob)
        nops.append((len(b.ops), b.input.offset, int(not _overlaps(b, len(b.ops) - 1))))
    image = qemu.build_romfs(files)
    if len(image) > board.romfs_size:
        raise TargetError(f"{board.name}: ROMFS image of {len(image)} bytes exceeds {board.romfs_size}")
    img = tmp / "bench.img"
    img.write_bytes(image)
    raw: dict[int, _Raw] = {k: _Raw() for k in range(len(models))}
    cal: dict = {}
    s = qemu._Session(board, board.argv(img, icount_args()), tmp / "qemu.stderr")
    current = "while booting"
    try:
        deadline = time.monotonic() + timeout
        s.start_script(f"import ulml_bench\n"
                       f"ulml_bench.run('/rom', {counter.kind}, {nops!r}, {CALIBRATION_ITERATIONS}, {mode!r})\n",
                       deadline, idle_timeout, "starting the bench runner", romfs=(board.romfs_addr, len(image)))
        current = "while loading ulab_ml"
        for line in s.script_lines(deadline, idle_timeout, lambda: current):  # noqa: B023 (the latest stage)
            p = line.split(" ")
            tag = p[0]
            if tag == "ULBM-OP":
                raw[int(p[1])].ops[int(p[2])] = int(p[3])
            elif tag == "ULBM-OPK":
                raw[int(p[1])].kernel_ops[int(p[2])] = int(p[3])
            elif tag == "ULBM-LOAD":
                k = int(p[1])
                raw[k].load, raw[k].mode = (int(p[2]), int(p[3])), p[4]
                raw[k].stream_bytes, raw[k].stream_buffer = int(p[5]), int(p[6])
                current = f"while running {models[k][0]}"
            elif tag == "ULBM-INFER":
                k = int(p[1])
                raw[k].infer, raw[k].out_infer = (int(p[2]), int(p[3])), p[4]
            elif tag == "ULBM-LOUT":
                raw[int(p[1])].out_layers = p[2]
            elif tag == "ULBM-OK":
                raw[int(p[1])].ok = True
            elif tag == "ULBM-ERR":
                raw[int(p[1])].error = " ".join(p[2:])
            elif tag == "ULBM-CAL":
                cal["spin1"], cal["spinN"], cal["empty"] = int(p[1]), int(p[2]), int(p[3])
            elif tag == "ULBM-NULL":
                cal.setdefault(p[1], []).append(tuple(int(v) for v in p[2:7]))
            elif tag == "ULBM-READY":
                cal["heap_free"] = int(p[1])
                current = "while calibrating"
        err = s.read_until(b"\x04", deadline, idle_timeout, "reading the runner's exit status")[:-1]
        if err.strip():
            raise TargetError(f"{board.name}: the bench runner failed {current}: "
                              f"{err.decode(errors='replace').strip()}")
    finally:
        s.close()
    return raw, cal


def _check_calibration(board: qemu.QemuBoard, counter: Counter, cal: dict) -> dict:
    """Instruction counts of the calibration and the do-nothing run_op; TargetError if the
    counter does not advance exactly one instruction per instruction."""
    def ins(t: int) -> int:
        return ticks_to_instructions(t, counter)

    if "spinN" not in cal:
        raise TargetError(f"{board.name}: the bench runner did not calibrate")
    spin_delta = ins(cal["spinN"]) - ins(cal["spin1"])
    want = 2 * (CALIBRATION_ITERATIONS - 1)
    if spin_delta != want:
        raise TargetError(f"{board.name}: counter calibration failed: a loop of {want} instructions "
                          f"measured {spin_delta}")
    got: dict[str, tuple[int, ...]] = {}
    for name in ("null1", "null3"):
        runs = [tuple(ins(t) - ins(r[0]) for t in r[1:]) for r in cal.get(name, [])]
        if len(runs) < 3 or runs[1] != runs[2]:
            raise TargetError(f"{board.name}: the do-nothing model {name} did not measure the same twice: {runs}")
        got[name] = runs[-1]
    infer1, infer3 = got["null1"][0], got["null3"][0]
    op0, op1, op2 = got["null3"][1:]
    dispatch = Fraction(infer3 - infer1, 2)
    copies = (op0 - op1) + (op2 - op1)  # copying the null model's input in and output out
    return {"empty": ins(cal["empty"]), "run_op_call": op1, "null_raw": ins(cal["null3"][-1][3]),
            "dispatch": dispatch, "infer_call": infer1 - dispatch - copies, "calibration_loop": spin_delta,
            "heap_free": cal.get("heap_free")}


WEIGHTS = {
    "inplace": "in place (ROMFS image in the board's flash/memory, Model.load(memoryview(file), 'inplace'))",
    "ram": "in RAM (the model file on the board's littlefs, Model.load(path, 'ram'))",
    "stream": "streamed (the model file on the board's littlefs, Model.load(path, 'stream'): each infer() "
              "reads every op's weights from the file)",
}


def bench_models(target: str, models: list[tuple[str, bytes]], *, seed: int = 0, mode: str = "inplace",
                 timeout: float = 1800.0, idle_timeout: float = 600.0) -> list[BenchResult]:
    """Benchmark (name, blob) pairs on a QEMU board in one boot (more if the image area is full),
    weights in `mode`: "inplace" (default), "ram" or "stream"."""
    if target not in BENCH_TARGETS:
        raise ValueError(f"bench runs on {', '.join(BENCH_TARGETS)} (got {target!r})")
    if mode not in WEIGHTS:
        raise ValueError(f"weights mode must be one of {', '.join(WEIGHTS)} (got {mode!r})")
    board = qemu.load_board(target)
    qemu.ensure_built(board)
    counter = COUNTERS[board.machine]
    assert ticks_per_instruction(counter) > 2, "the counter must tick more than twice per instruction"
    cpu = _board_cpu(board)
    method = {
        "qemu": f"{qemu.QEMU_SYSTEM} -machine {board.machine} {' '.join(icount_args())}",
        "icount_shift": ICOUNT_SHIFT,
        "counter": counter.description,
        "ticks_per_instruction": float(ticks_per_instruction(counter)),
        "weights": WEIGHTS[mode],
        "input_seed": seed,
        "firmware_sha256": hashlib.sha256(board.firmware.read_bytes()).hexdigest()[:16],
        "natmod_sha256": hashlib.sha256(board.natmod.read_bytes()).hexdigest()[:16],
    }
    blob_budget = board.romfs_size - 512 * 1024  # room for the package, native module and inputs
    batches: list[list[int]] = []
    used = blob_budget + 1
    for k, (_, blob) in enumerate(models):
        if used + len(blob) > blob_budget or mode == "stream":  # streamed: one model per boot (see run)
            batches.append([])
            used = 0
        batches[-1].append(k)
        used += len(blob) + 4096
    per_model: dict[int, BenchResult] = {}
    for batch in batches:
        sub = [models[k] for k in batch]
        with tempfile.TemporaryDirectory(prefix=f"ulab_ml_bench_{target}_") as tmpdir:
            raw, cal = _boot(board, counter, sub, seed, mode, Path(tmpdir), timeout, idle_timeout)
        c = _check_calibration(board, counter, cal)
        m = dict(method, empty_measurement_instructions=c["empty"], calibration_loop_instructions=c["calibration_loop"])
        for j, k in enumerate(batch):
            per_model[k] = _result(models[k], target, cpu, counter, raw[j], c, m, mode)
    return [per_model[k] for k in range(len(models))]


def _board_cpu(board: qemu.QemuBoard) -> str:
    info = json.loads((qemu.BOARDS_DIR / board.name / "board.json").read_text())
    return str(info.get("cpu", ""))


def _plain(x: Fraction | int) -> int | float:
    """An exact count as an int (a half, from halving an odd difference, as a float)."""
    return int(x) if Fraction(x).denominator == 1 else float(x)


def _result(model: tuple[str, bytes], target: str, cpu: str, counter: Counter, r: _Raw, c: dict,
            method: dict, mode: str = "inplace") -> BenchResult:
    name, blob = model
    info = _describe(blob)
    res = BenchResult(name=name, target=target, cpu=cpu, macs=int(info["macs"]), method=method, weights_mode=mode,
                      call_instructions=_plain(c["infer_call"]), dispatch_instructions=_plain(c["dispatch"]),
                      run_op_call_instructions=c["run_op_call"])

    def ins(t: int) -> int:
        return ticks_to_instructions(t, counter)

    if r.load is not None:
        res.load_instructions = ins(r.load[1]) - ins(r.load[0])
        res.weights_mode = r.mode
        if r.mode == "stream":
            res.stream_bytes_per_inference, res.stream_buffer_bytes = r.stream_bytes, r.stream_buffer
    if r.error is not None or not r.ok or r.infer is None:
        res.error = r.error or "the bench runner stopped before this model finished"
        return res
    empty = c["empty"]
    res.first_instructions = ins(r.infer[0]) - empty
    res.instructions = ins(r.infer[1]) - empty
    if res.macs:
        res.instructions_per_mac = round(res.instructions / res.macs, 3)
    if r.mode == "stream":  # no per-layer run (run_op needs the weights in memory), and the
        # do-nothing models' fixed costs are those of a model in memory: not given
        res.call_instructions = res.dispatch_instructions = res.run_op_call_instructions = None
        return res
    if r.out_infer != r.out_layers:
        res.error = "the per-layer run gave a different output than infer()"
    last = len(info["ops"]) - 1
    for i, op in enumerate(info["ops"]):
        n = ins(r.ops[i]) - c["null_raw"]
        if i in r.kernel_ops:
            kernel: int | None = ins(r.kernel_ops[i]) - c["null_raw"]
        else:
            kernel = n if 0 < i < last else None
        res.layers.append(LayerResult(i, op["op"], op["inputs"], op["output"], int(op["macs"]), n,
                                      round(n / op["macs"], 3) if op["macs"] else None, kernel))
    res.layers_sum = sum(layer.instructions for layer in res.layers)
    res.overhead_instructions = res.instructions - res.layers_sum
    res.residual_instructions = _plain(res.instructions - res.layers_sum - c["infer_call"]
                                       - len(res.layers) * c["dispatch"])
    return res


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.1f}"


def format_result(r: BenchResult) -> str:
    """Human-readable table of one result (instructions, never cycles)."""
    lines = [f"{r.name} on {r.target} ({r.cpu}; QEMU -icount shift={ICOUNT_SHIFT}: counts are "
             f"instructions, not cycles; exact, error bound {r.error_bound_instructions} instructions)"]
    if r.load_instructions is not None:
        lines.append(f"load (Model.load, weights {r.weights_mode.replace('inplace', 'in place')}): "
                     f"{r.load_instructions:,} instructions")
    if r.error:
        lines.append(f"ERROR: {r.error}")
        if r.instructions is None:
            return "\n".join(lines)
    assert r.instructions is not None
    per_mac = f", {r.instructions_per_mac:.2f} instructions/MAC" if r.instructions_per_mac else ""
    lines.append(f"instructions per inference (one infer() call): {r.instructions:,}  "
                 f"({r.macs:,} MACs{per_mac}; first call after load {r.first_instructions:,})")
    if r.weights_mode == "stream":
        lines.append(f"weights streamed from the file: {r.stream_bytes_per_inference:,} bytes read per inference "
                     f"into a {r.stream_buffer_bytes:,}-byte buffer (no per-layer figures in streamed mode)")
        return "\n".join(lines)
    lines.append(f"{'#':>3}  {'op':<18} {'output':<18} {'MACs':>11} {'instructions':>13} {'instr/MAC':>9}")
    for layer in r.layers:
        ipm = f"{layer.instructions_per_mac:.2f}" if layer.instructions_per_mac is not None else "-"
        lines.append(f"{layer.index:>3}  {layer.op:<18} {str(layer.output):<18} {layer.macs:>11,} "
                     f"{layer.instructions:>13,} {ipm:>9}")
    lines.append(f"sum of layers {r.layers_sum:,} + fixed cost of an infer() call {_num(r.call_instructions)} "
                 f"+ {len(r.layers)} ops x {_num(r.dispatch_instructions)} per-op dispatch = "
                 f"{r.instructions:,} (residual {_num(r.residual_instructions)})")
    lines.append(f"(a layer = its run_op call minus a do-nothing op's run_op call, {r.run_op_call_instructions:,}; "
                 f"op 0 includes copying the input in, the last op copying the output out; "
                 f"measured with the heap locked)")
    return "\n".join(lines)
