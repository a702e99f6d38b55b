"""Run jobs on an emulated microcontroller: MicroPython 1.25 on QEMU (targets qemu-m0/m3/m4).

One QEMU boot runs a whole batch of jobs. Before the boot, the host builds a ROMFS image (the
read-only, memory-mappable filesystem of MicroPython 1.25's `vfs.VfsRom`) holding the ulab_ml
package (precompiled with mpy-cross), the board's native module, a small runner, every distinct
model blob once and each job's inputs. QEMU's generic loader puts the image in the board's flash
(qemu-m0) or in spare memory outside the firmware's RAM (qemu-m3/m4, the MPS2 PSRAM) before the
CPU starts, so the image costs no heap. Over the serial port (QEMU stdio) the host then talks
MicroPython's raw REPL: it mounts the image at /rom and starts the runner, which

- loads one model at a time with `ulab_ml.Model.load(path, job.mode)` (automatic mode: the
  blob is copied to RAM if it fits the heap, else its weights are streamed from the file), frees
  it (`close`, `gc.collect`) before the next, and reuses it for consecutive jobs on the same blob
  and mode; mode "inplace" loads `memoryview(open(path, "rb"))`, so the weights are used where
  they lie in flash, as for a model deployed to a real board's ROMFS;
- streams the inputs from the image one inference at a time (`readinto` into one buffer) and
  prints each output in hex as soon as it is computed.

A MemoryError while loading or running a model fails that job only (ModelRejected giving the
bytes needed and the bytes free); a board that faults, stops answering or dies raises
TargetError. At the end the host sends machine.reset(), which makes QEMU exit (semihosting).

Board facts (QEMU machine and arguments, where the image goes, which native module) come from
boards/<board>/board.json; firmwares are built by scripts/build_qemu_boards.sh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .blob import BlobError, parse_blob
from .paths import CACHE, DEVICE_PACKAGE, NATMOD_DIR, ROOT
from .targets import Job, ModelRejected, TargetError

QEMU_BOARDS = ("qemu-m0", "qemu-m3", "qemu-m4")
BOARDS_DIR = ROOT / "boards"
QEMU_CACHE = CACHE / "qemu"
MPY_CROSS = CACHE / "micropython-1.25.0" / "mpy-cross" / "build" / "mpy-cross"
QEMU_SYSTEM = "qemu-system-arm"
BUILD_HINT = "run scripts/build_qemu_boards.sh (after scripts/setup.sh)"

# Runs on the board (compiled with mpy-cross into the ROMFS image as ulml_qemu_runner.mpy).
# jobs.bin (read in place from flash, so the table costs no heap however many jobs there are)
# holds one JOB_RECORD per job: job index, inference count, model file number (m<n>.uml),
# weights mode (index into MODES); the inputs of job k are in i<k>.bin.
# Output lines: ULML-READY <state size> <heap free before import> <heap free after>; per job
# ULML-MODE <k> <mode> when its model is loaded, ULML-OUT <k> <i> <hex> per inference, then
# ULML-OK <k>, ULML-ERR <k> <exception> <message> or ULML-MEM <k> <heap free> <message>;
# finally ULML-DONE <heap free>.
# Heap discipline (fragmentation decides what fits on a 192 KB heap): a model is closed as soon
# as its last job is done, before anything for the next job is allocated, so nothing allocated
# while it was loaded outlives it; then gc.collect() and the next model gets the whole heap.
JOB_RECORD = "<IIHH"
JOB_MODES = ("-", "ram", "stream", "inplace")
QEMU_DEVICE_RUNNER = """
import gc
import sys
from array import array
from binascii import hexlify
from struct import unpack_from
import ulab_ml
from ulab_ml import Model

MODES = ("-", "ram", "stream", "inplace")
REC = "<IIHH"


def _free():
    gc.collect()
    return gc.mem_free()


def _key(jobs, j):
    r = unpack_from(REC, jobs, j * 12)
    return r[2] * 4 + r[3]


def run(root, free0):
    nat = ulab_ml._backend()
    jobs = memoryview(open(root + "/jobs.bin", "rb"))
    count = len(jobs) // 12
    out = sys.stdout
    print("ULML-READY", nat.STATE_SIZE, free0, _free())
    m = None
    mfile = None
    cur = -1
    for j in range(count):
        k, n, mi, mode = unpack_from(REC, jobs, j * 12)
        if mi * 4 + mode != cur:
            gc.collect()
            try:
                if mode == 3:
                    mfile = open("%s/m%d.uml" % (root, mi), "rb")
                    m = Model.load(memoryview(mfile), "inplace")
                else:
                    m = Model.load("%s/m%d.uml" % (root, mi), None if mode == 0 else MODES[mode])
                cur = mi * 4 + mode
                print("ULML-MODE", k, m.mode)
            except MemoryError as e:
                m = mfile = None
                print("ULML-MEM", k, _free(), e)
            except Exception as e:
                m = mfile = None
                print("ULML-ERR", k, type(e).__name__, e)
        if m is not None:
            try:
                nb = m.input_bytes
                # int8 inputs are passed straight from the image in flash (no RAM copy, as a
                # sensor's buffer would be); float32 ones through an array('f').
                inbuf = array("f", bytes(nb)) if m.input_dtype == "float32" else None
                with open("%s/i%d.bin" % (root, k), "rb") as fi:
                    src = memoryview(fi)
                    if len(src) != n * nb:
                        raise ValueError("inputs have %d bytes; %d inferences take %d" % (len(src), n, n * nb))
                    for i in range(n):
                        if inbuf is None:
                            y = m.infer(src[i * nb:(i + 1) * nb])
                        else:
                            fi.seek(i * nb)
                            fi.readinto(inbuf)
                            y = m.infer(inbuf)
                        out.write("ULML-OUT %d %d " % (k, i))
                        # in slices: hexlify of a whole large output (tens of KB) would need
                        # twice its size of heap at once
                        ym = memoryview(y)
                        for p in range(0, len(ym), 128):
                            out.write(hexlify(ym[p:p + 128]))
                        out.write("\\n")
                # drop every reference made while this model was loaded (see above)
                inbuf = fi = src = y = ym = None
                print("ULML-OK", k)
            except MemoryError as e:
                inbuf = fi = src = y = ym = None
                m.close()
                m = mfile = None
                cur = -1
                print("ULML-MEM", k, _free(), e)
            except Exception as e:
                inbuf = fi = src = y = ym = None
                print("ULML-ERR", k, type(e).__name__, e)
        if m is not None and (j + 1 == count or _key(jobs, j + 1) != cur):
            m.close()
            m = mfile = None
            cur = -1
    print("ULML-DONE", _free())
"""

_ROMFS_ALIGN = 16  # file data alignment in the image (blobs must be 4-byte aligned; arena-like 16)


@dataclass(frozen=True)
class QemuBoard:
    """A QEMU board, as described by boards/<name>/board.json."""

    name: str
    machine: str
    qemu_args: tuple[str, ...]
    natmod_file: str         # the native module ulab_ml loads on this board
    romfs_addr: int
    romfs_size: int
    free_heap_bytes: int     # gc.mem_free() at boot, as measured (board.json)
    emulates: str

    @property
    def firmware(self) -> Path:
        return QEMU_CACHE / self.name / "firmware.elf"

    @property
    def natmod(self) -> Path:
        return NATMOD_DIR / self.natmod_file

    def argv(self, image: Path | None, extra: tuple[str, ...] = ()) -> list[str]:
        """qemu-system-arm command line: serial on stdio, no monitor, semihosting for exit."""
        argv = [QEMU_SYSTEM, "-machine", self.machine, *self.qemu_args, "-display", "none",
                "-monitor", "none", "-serial", "stdio", "-semihosting", "-kernel", str(self.firmware)]
        if image is not None:
            argv += ["-device", f"loader,file={image},addr={self.romfs_addr:#x}"]
        return argv + list(extra)


def load_board(name: str) -> QemuBoard:
    path = BOARDS_DIR / name / "board.json"
    if name not in QEMU_BOARDS or not path.is_file():
        raise ValueError(f"unknown QEMU board {name!r} (known: {', '.join(QEMU_BOARDS)})")
    info = json.loads(path.read_text())
    q = info["qemu"]
    return QemuBoard(name=name, machine=q["machine"], qemu_args=tuple(q["args"]),
                     natmod_file=info["natmod"], romfs_addr=int(q["romfs_addr"], 0),
                     romfs_size=int(q["romfs_size"], 0), free_heap_bytes=int(info["free_heap_bytes"]),
                     emulates=info.get("emulates", ""))


# --- ROMFS image --------------------------------------------------------------------------------

def _uint(value: int, width: int = 0) -> bytes:
    """ROMFS varuint (big-endian base 128); padded with leading 0x80 bytes to `width` bytes."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.insert(0, 0x80 | (value & 0x7F))
        value >>= 7
    while len(out) < width:
        out.insert(0, 0x80)
    return bytes(out)


def _padding(n: int) -> bytes:
    """A padding record of exactly n >= 2 bytes (n <= 129)."""
    return b"\x01" + _uint(n - 2) + bytes(n - 2)


_LEN = 4  # fixed width of record lengths, so every offset is known before the content


def _romfs_entries(entries: dict[str, bytes | dict], start: int) -> bytes:
    """Records for a directory's entries, placed at absolute offset `start` in the image."""
    out = bytearray()
    for name, content in sorted(entries.items()):
        bname = name.encode()
        head = _uint(len(bname)) + bname
        if isinstance(content, dict):
            body_start = start + len(out) + 1 + _LEN + len(head)
            body = head + _romfs_entries(content, body_start)
            out += _uint(4) + _uint(len(body), _LEN) + body
            continue
        data_at = start + len(out) + 1 + _LEN + len(head) + 1 + _LEN
        gap = -data_at % _ROMFS_ALIGN
        if gap:
            if gap == 1:
                gap += _ROMFS_ALIGN
            out += _padding(gap)
        body = head + _uint(2) + _uint(len(content), _LEN) + content
        out += _uint(5) + _uint(len(body), _LEN) + body
    return out


def build_romfs(files: dict[str, bytes | dict]) -> bytes:
    """A ROMFS image (format: extmod/vfs_rom.c) with file data aligned to 16 bytes."""
    header = b"\xd2\xcd\x31"  # record kind 0x14a6b1, "RM1"
    payload = bytearray(_romfs_entries(files, len(header) + _LEN + 1))
    if len(payload) % 2:
        payload += _padding(3)  # the whole record must have an even size
    return header + _uint(len(payload), _LEN + 1) + payload


# --- the batch ------------------------------------------------------------------------------------

@dataclass
class _Planned:
    jobs: list[int]              # indices into the caller's job list
    files: dict[str, bytes | dict]
    table: list[bytes]           # jobs.bin records


def _mpy_cross(src: str, name: str, tmp: Path) -> bytes:
    py = tmp / f"{name}.py"
    py.write_text(src)
    proc = subprocess.run([str(MPY_CROSS), "-o", str(tmp / f"{name}.mpy"), "-s", f"{name}.py", str(py)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"mpy-cross failed on {name}.py: {proc.stderr.strip()}")
    return (tmp / f"{name}.mpy").read_bytes()


def _base_files(board: QemuBoard, tmp: Path) -> dict[str, bytes | dict]:
    return {
        "ulab_ml": {"__init__.mpy": _mpy_cross((DEVICE_PACKAGE / "__init__.py").read_text(), "__init__", tmp)},
        board.natmod.name: board.natmod.read_bytes(),
        "ulml_qemu_runner.mpy": _mpy_cross(QEMU_DEVICE_RUNNER, "ulml_qemu_runner", tmp),
    }


def _input_bytes(job: Job) -> bytes:
    x = np.ascontiguousarray(job.inputs)
    return x.astype(x.dtype.newbyteorder("<")).tobytes()


def _plan(jobs: list[Job], base: dict[str, bytes | dict], capacity: int,
          rejected: dict[int, str]) -> list[_Planned]:
    """Split jobs into boots whose ROMFS image fits the board's image area. Jobs that cannot
    run at all get a message in `rejected` instead."""
    def size(files: dict[str, bytes | dict]) -> int:
        return sum(size(v) if isinstance(v, dict) else len(v) + 64 for v in files.values()) + 64

    base_size = size(base)
    boots: list[_Planned] = []
    cur: _Planned | None = None
    used = 0
    numbers: dict[bytes, int] = {}  # blob digest -> model file number in this boot
    for k, job in enumerate(jobs):
        if job.mode not in (None, *JOB_MODES[1:]):
            rejected[k] = f"ValueError weights mode must be None or one of {JOB_MODES[1:]} (got {job.mode!r})"
            continue
        digest = hashlib.sha256(job.blob).digest()
        inputs = _input_bytes(job)
        need = len(inputs) + 64 + (len(job.blob) + 64 if digest not in numbers else 0)
        if base_size + len(job.blob) + len(inputs) + 256 > capacity:
            rejected[k] = (f"model and inputs ({len(job.blob) + len(inputs)} bytes) do not fit the "
                          f"{capacity - base_size} bytes the board's flash image has for them")
            continue
        if cur is None or used + need > capacity:
            cur = _Planned([], dict(base), [])
            boots.append(cur)
            used = base_size
            numbers = {}
        if digest not in numbers:
            numbers[digest] = len(numbers)
            cur.files[f"m{numbers[digest]}.uml"] = job.blob
            used += len(job.blob) + 64
        cur.files[f"i{k}.bin"] = inputs
        used += len(inputs) + 64
        cur.jobs.append(k)
        cur.table.append(struct.pack(JOB_RECORD, k, len(job.inputs), numbers[digest],
                                     JOB_MODES.index(job.mode or "-")))
    return boots


def _fit_message(board: QemuBoard, job: Job, state_size: int, free: int, ready_free: int, device_msg: str) -> str:
    """ModelRejected text for a MemoryError: heap the job's weights mode needs vs heap free."""
    def blocks(n: int) -> int:  # the GC hands out 16-byte blocks
        return (n + 15) // 16 * 16

    mode = job.mode or "stream"  # automatic mode streams when the blob does not fit in RAM
    note = ""
    try:
        b = parse_blob(job.blob)
    except BlobError:
        need_txt = "more"
    else:
        parts = [("arena", blocks(b.arena_size)), ("model state", blocks(state_size)),
                 ("output buffer", blocks(b.output.nbytes))]
        if b.input.dtype == "float32":  # int8 inputs are read in place from flash
            parts.append(("input buffer", blocks(b.input.nbytes)))
        if mode == "ram":
            parts.insert(0, ("blob copied to RAM", blocks(len(job.blob))))
        elif mode == "stream":
            parts[:0] = [("model tables", blocks(b.const_off)), ("weights stream buffer", blocks(b.max_const_span))]
        need = sum(n for _, n in parts)
        need_txt = f"about {need} bytes of heap ({', '.join(f'{name} {n}' for name, n in parts)})"
        if need <= free:
            note = " (enough in total, but not in one contiguous block: the heap is fragmented)"
    return (f"MemoryError: the model does not fit the {board.name} heap in weights mode "
            f"{job.mode or 'automatic (stream)'}: it needs {need_txt}, but {free} bytes are free{note} "
            f"({ready_free} free once ulab_ml is imported; the board stands in for "
            f"{board.emulates or board.name}). Device: {device_msg}")


# --- talking to the board -------------------------------------------------------------------------

class _Session:
    """A QEMU process with the board's serial port on stdin/stdout."""

    def __init__(self, board: QemuBoard, argv: list[str], stderr_path: Path) -> None:
        self.board = board
        self._stderr_path = stderr_path
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 (closed in close())
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, bufsize=0, start_new_session=True)
        except OSError as exc:
            self._stderr.close()
            raise TargetError(f"cannot start {argv[0]}: {exc} (scripts/setup.sh installs qemu-system-arm)") from exc
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self._fd = self.proc.stdout.fileno()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._fd, selectors.EVENT_READ)
        self.buf = bytearray()
        self.tail = bytearray()  # last output, for error messages
        self.hung = False

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise self._died() from exc

    def _died(self) -> Exception:
        rc = self.proc.wait(timeout=5)
        err = self._stderr_path.read_bytes().decode(errors="replace").strip()
        return TargetError(f"{self.board.name}: QEMU exited (status {rc}) {err[-1000:]}"
                         f"{self._tail_text()}")

    def _tail_text(self) -> str:
        text = bytes(self.tail[-1500:]).decode(errors="replace").strip()
        return f"; last board output: {text}" if text else ""

    def read_some(self, deadline: float, idle: float, what: str) -> bytes:
        """Block until the board sends something; TargetError on silence, timeout or exit."""
        now = time.monotonic()
        if now >= deadline:
            self.hung = True
            raise TargetError(f"{self.board.name}: timed out {what}{self._tail_text()}")
        events = self._sel.select(timeout=min(idle, deadline - now))
        if not events:
            self.hung = True
            if time.monotonic() >= deadline:
                raise TargetError(f"{self.board.name}: timed out {what}{self._tail_text()}")
            raise TargetError(f"{self.board.name}: the board hung: no output for {idle:.0f} s "
                            f"{what}{self._tail_text()}")
        data = os.read(self._fd, 1 << 16)
        if not data:
            raise self._died()
        self.tail = (self.tail + data)[-4000:]
        if b"exception caught:" in self.tail:
            end = time.monotonic() + 0.5  # let the register dump arrive
            while time.monotonic() < end and self._sel.select(timeout=0.1):
                more = os.read(self._fd, 1 << 16)
                if not more:
                    break
                self.tail += more
            self.hung = True  # the fault handler spins forever: no clean exit to wait for
            dump = self.tail[self.tail.find(b"exception caught:") - 12:]
            raise TargetError(f"{self.board.name}: the board crashed {what}: "
                            f"{bytes(dump).decode(errors='replace').strip()}")
        return data

    def read_until(self, token: bytes, deadline: float, idle: float, what: str) -> bytes:
        while token not in self.buf:
            self.buf += self.read_some(deadline, idle, what)
        i = self.buf.index(token) + len(token)
        head = bytes(self.buf[:i])
        del self.buf[:i]
        return head

    def start_script(self, body: str, deadline: float, idle: float, what: str, *,
                     romfs: tuple[int, int] | None = None, prelude: str = "") -> None:
        """From the boot prompt: enter the raw REPL and run `prelude`, then (romfs = (address,
        length) of an image in flash) mount that ROMFS image at /rom, first on sys.path, then
        `body`. Returns once MicroPython has accepted the script (its output follows)."""
        self.read_until(b">>> ", deadline, min(idle, 30.0), "waiting for the MicroPython prompt")
        self.write(b"\r\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>", deadline, 30, "entering the raw REPL")
        mount = ""
        if romfs is not None:
            mount = (f"import sys, vfs, uctypes\n"
                     f"vfs.mount(vfs.VfsRom(uctypes.bytearray_at({romfs[0]:#x}, {romfs[1]})), '/rom')\n"
                     f"sys.path.insert(0, '/rom')\n")
        self.write((prelude + mount + body).encode() + b"\x04")
        self.read_until(b"OK", deadline, 30, what)

    def script_lines(self, deadline: float, idle: float, where: Callable[[], str]) -> Iterator[str]:
        """The running script's output line by line (without line ends) up to its end marker;
        what comes after it (the exit status) stays in the buffer. where(): what the board is
        doing, for the error message if it falls silent."""
        # What start_script read past "OK" comes first: a short script's whole output, end
        # marker included, can arrive in the same read.
        chunk = bytes(self.buf)
        self.buf = bytearray()
        line_buf = bytearray()
        while True:
            if not chunk:
                chunk = self.read_some(deadline, idle, where())
            end = chunk.find(b"\x04")
            line_buf += chunk if end < 0 else chunk[:end]
            *lines, rest = line_buf.split(b"\n")
            line_buf = bytearray(rest)
            for raw in lines:
                yield raw.decode(errors="replace").rstrip("\r")
            if end >= 0:
                self.buf = bytearray(chunk[end + 1:])
                return
            chunk = b""

    def close(self) -> None:
        """Ask MicroPython to exit QEMU (machine.reset -> semihosting exit); kill it if it won't."""
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.write(b"\r\x03\x03\x01import machine\nmachine.reset()\n\x04")
            try:
                self.proc.wait(timeout=1 if self.hung else 5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self._sel.close()
        for f in (self.proc.stdin, self.proc.stdout, self._stderr):
            with contextlib.suppress(OSError):
                if f is not None:
                    f.close()


@dataclass
class BootReport:
    """What one boot reported (kept on the module for tests and benchmarks)."""

    board: str
    jobs: int
    image_bytes: int
    free_at_boot: int        # heap free before anything is imported
    free_after_load: int     # heap free once ulab_ml and its native module are imported
    free_at_end: int
    seconds: float
    modes: dict[int, str]     # job index -> weights mode the model was loaded in


last_boots: list[BootReport] = []


def _run_boot(board: QemuBoard, jobs: list[Job], plan: _Planned, tmp: Path, results: list,
              timeout: float, idle_timeout: float, qemu_extra: tuple[str, ...]) -> None:
    t0 = time.monotonic()
    files = dict(plan.files)
    files["jobs.bin"] = b"".join(plan.table)
    image = build_romfs(files)
    if len(image) > board.romfs_size:
        raise TargetError(f"{board.name}: ROMFS image of {len(image)} bytes exceeds {board.romfs_size}")
    img_path = tmp / "romfs.img"
    img_path.write_bytes(image)

    outs: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for k in plan.jobs:
        job = jobs[k]
        outs[k] = np.zeros((len(job.inputs),) + tuple(job.output_shape), dtype=job.output_dtype)
        counts[k] = 0
    status: dict[int, str | ModelRejected] = {}
    state_size = boot_free = ready_free = done_free = 0
    modes: dict[int, str] = {}
    current = "while booting"
    following = dict(zip(plan.jobs, plan.jobs[1:]))

    def after(k: int) -> str:
        return f"while running job {following[k]}" if k in following else "after the last job"

    s = _Session(board, board.argv(img_path, qemu_extra), tmp / "qemu.stderr")
    try:
        deadline = time.monotonic() + timeout
        boot = min(idle_timeout, 30.0)
        # The firmware mounts its filesystem (boards/qemu-common) at boot; batches do not use it,
        # and unmounting frees its ~600 bytes, so the heap is laid out exactly as on a firmware
        # without one (the boards' heap figures, and what fits, stay as measured).
        prelude = ("import gc, vfs\n"
                   "try:\n    vfs.umount('/')\nexcept OSError:\n    pass\n"
                   "gc.collect()\n"
                   "free0 = gc.mem_free()\n")
        s.start_script("import ulml_qemu_runner\nulml_qemu_runner.run('/rom', free0)\n", deadline, boot,
                       "starting the runner", romfs=(board.romfs_addr, len(image)), prelude=prelude)
        current = "while loading ulab_ml"
        for line in s.script_lines(deadline, idle_timeout, lambda: current):  # noqa: B023 (the latest stage)
            parts = line.split(" ", 3)
            tag = parts[0]
            if tag == "ULML-OUT":
                k, i = int(parts[1]), int(parts[2])
                data = bytes.fromhex(parts[3])
                dt = np.dtype(jobs[k].output_dtype).newbyteorder("<")
                outs[k][i] = np.frombuffer(data, dtype=dt).reshape(jobs[k].output_shape)
                counts[k] += 1
                current = f"while running job {k} (inference {i + 1} of {len(jobs[k].inputs)} done)"
            elif tag == "ULML-OK":
                status[int(parts[1])] = ""
                current = after(int(parts[1]))
            elif tag == "ULML-ERR":
                status[int(parts[1])] = ModelRejected(" ".join(parts[2:]))
                current = after(int(parts[1]))
            elif tag == "ULML-MEM":
                k = int(parts[1])
                status[k] = ModelRejected(_fit_message(board, jobs[k], state_size, int(parts[2]), ready_free,
                                                       parts[3] if len(parts) > 3 else ""))
                current = after(k)
            elif tag == "ULML-MODE":
                modes[int(parts[1])] = parts[2]
            elif tag == "ULML-READY":
                state_size, boot_free, ready_free = int(parts[1]), int(parts[2]), int(parts[3])
                current = f"while running job {plan.jobs[0]}" if plan.jobs else "at the end"
            elif tag == "ULML-DONE":
                done_free = int(parts[1])
        err = s.read_until(b"\x04", deadline, idle_timeout, "reading the runner's exit status")[:-1]
        if err.strip():
            text = err.decode(errors="replace").strip()
            if "MemoryError" in text and not ready_free:
                text = (f"ulab_ml and its native module ({board.natmod.name}, {board.natmod.stat().st_size} "
                        f"bytes) do not fit the heap: {text}")
            raise TargetError(f"{board.name}: the runner failed {current}: {text}")
    finally:
        s.close()
    for k in plan.jobs:
        st = status.get(k)
        if isinstance(st, ModelRejected):
            results[k] = st
        elif st == "" and counts[k] == len(jobs[k].inputs):
            results[k] = outs[k]
        else:
            raise TargetError(f"{board.name}: job {k} ended without a result ({counts[k]} of "
                              f"{len(jobs[k].inputs)} outputs){s._tail_text()}")
    last_boots.append(BootReport(board.name, len(plan.jobs), len(image), boot_free, ready_free, done_free,
                                 time.monotonic() - t0, modes))


def ensure_built(board: QemuBoard) -> None:
    missing = [str(p) for p in (board.firmware, board.natmod, MPY_CROSS) if not p.exists()]
    if missing:
        raise TargetError(f"{board.name} is not built (missing {', '.join(missing)}): {BUILD_HINT}")


def run_qemu(target: str, jobs: list[Job], *, timeout: float = 900.0, idle_timeout: float = 120.0,
             qemu_extra: tuple[str, ...] = ()) -> list[np.ndarray | ModelRejected]:
    """Run jobs on QEMU board `target` (qemu-m0, qemu-m3 or qemu-m4) in as few boots as the image
    area allows (normally one), each job's model loaded in its weights mode (Job.mode).
    timeout: seconds per boot; idle_timeout: longest silence from a busy board before it counts
    as hung. qemu_extra: more qemu-system-arm arguments (e.g. -icount shift=0,align=off,sleep=off)."""
    board = load_board(target)
    ensure_built(board)
    results: list[np.ndarray | ModelRejected | None] = [None] * len(jobs)
    with tempfile.TemporaryDirectory(prefix=f"ulab_ml_{target}_") as tmpdir:
        tmp = Path(tmpdir)
        rejected: dict[int, str] = {}
        base = _base_files(board, tmp)
        for plan in _plan(jobs, base, board.romfs_size, rejected):
            _run_boot(board, jobs, plan, tmp, results, timeout, idle_timeout, qemu_extra)
        for k, msg in rejected.items():
            results[k] = ModelRejected(msg)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]
