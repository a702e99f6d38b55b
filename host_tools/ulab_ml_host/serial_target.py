"""Run models on a real board over its serial port: `ulab-ml run|verify --target PORT`.

PORT is the serial port of a board running MicroPython (/dev/ttyACM0, /dev/cu.usbmodem*, COM3,
or the pseudo-terminal of a QEMU board started with `python -m ulab_ml_host.board start`).

0. A first connection checks that MicroPython answers (its raw REPL), within seconds.
1. `deploy.deploy` (mpremote) asks the board for its architecture (sys.implementation._mpy) and
   copies what is missing or different: ulab_ml/__init__.py, the native module for that
   architecture, and each job's model (a file in the board's current directory, named as the
   job says, e.g. the model's own name with .uml, as `ulab-ml deploy` would).
2. One connection (mpremote's SerialTransport, pyserial underneath) enters the raw REPL with a
   soft reset, so the heap is as after boot, and per job starts a small runner (DEVICE_RUNNER)
   that loads the model once and then answers one input at a time: the host sends the input
   as a line of hex (never a control character, so Ctrl-C still interrupts the board), the
   board decodes it 256 bytes at a time into one input buffer, runs Model.infer and prints the
   output as hex in slices; the next input goes only after that answer. Besides the model the
   board holds one input buffer and 512 bytes of hex text.

Outcomes, as for the other targets (targets.run_jobs): a model or input the board refuses
(Model.load or infer raising, e.g. MemoryError) is a ModelRejected for that job (exit 2 in the
CLI); no board on the port, no MicroPython answering, no native module for its architecture,
no room on its filesystem, a board that resets, faults, stops answering or disappears
mid-run: TargetError (exit 3).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .targets import Job, ModelRejected, TargetError

# Longest silence from the board while it loads a model or runs one inference (seconds);
# ULAB_ML_TARGET_TIMEOUT lowers it.
REPLY_TIMEOUT = 60.0
READ_TIMEOUT = 2.0  # one serial read (mpremote's raw-paste writes expect the board within it)
DEFAULT_MODEL_NAME = "ulml_model.uml"

# Defines a function on the board; each job then calls it once (its locals, the model
# included, are freed when it returns). Output lines:
#   ULML-READY <backend> <weights mode> <input bytes> <heap free before load> <after load>
#   ULML-OUT <hex>                   one per input, after the host sent it
#   ULML-ERR <heap free> <exception type> <message>   the model or an input was refused
#   ULML-NOLIB <exception type> <message>             ulab_ml cannot be imported
#   ULML-END                         every input answered
DEVICE_RUNNER = """
def _ulml_job(path, mode, n):
    import gc
    import sys
    from array import array
    from binascii import hexlify, unhexlify
    gc.collect()
    try:
        from ulab_ml import Model
    except Exception as e:
        print("ULML-NOLIB", type(e).__name__, e)
        return
    gc.collect()
    free0 = gc.mem_free()
    try:
        if mode == "inplace":
            with open(path, "rb") as f:
                m = Model.load(f.read(), "inplace")
        else:
            m = Model.load(path, mode)
        nb = m.input_bytes
        fl = m.input_dtype == "float32"
        x = xb = array("f", bytes(nb)) if fl else bytearray(nb)
        cp = False
        if fl:
            try:  # the float array's bytes, to decode into
                import uctypes
                xb = uctypes.bytearray_at(uctypes.addressof(x), nb)
            except (ImportError, AttributeError):
                xb = bytearray(nb)  # copied into a new array('f') per input
                cp = True
        c = memoryview(bytearray(512))
    except Exception as e:
        m = x = xb = c = None
        gc.collect()
        print("ULML-ERR", gc.mem_free(), type(e).__name__, e)
        return
    gc.collect()
    print("ULML-READY", m.backend, m.mode, nb, free0, gc.mem_free())
    rd = getattr(sys.stdin, "buffer", sys.stdin).readinto
    wr = sys.stdout.write
    for i in range(n):
        # one input: 2 * nb hex digits and a newline, decoded 256 bytes at a time
        j = 0
        while j <= nb:
            t = c[:2 * min(256, nb - j)] if j < nb else c[:1]
            k = 0
            while k < len(t):
                k += rd(t[k:])
            if j == nb:
                if c[0] != 10:
                    print("ULML-DESYNC", i)
                    return
                break
            xb[j:j + len(t) // 2] = unhexlify(t)
            j += len(t) // 2
        try:
            y = m.infer(array("f", xb) if cp else x)
        except Exception as e:
            y = None
            gc.collect()
            print("ULML-ERR", gc.mem_free(), type(e).__name__, e)
            return
        wr("ULML-OUT ")
        v = memoryview(y)
        for a in range(0, len(v), 128):  # hex in slices: no string of the whole output
            wr(hexlify(v[a:a + 128]))
        wr("\\n")
    m.close()
    print("ULML-END")
"""

_PORT_RE = re.compile(r"(?i)^(/|\\\\\.\\|com\d+$)")
# What a board prints when it restarts or crashes instead of answering.
_RESET_MARKS = (b"soft reboot", b"MicroPython v", b"raw REPL; CTRL-B to exit", b"\r\n>>> ")
_FAULT_MARKS = (b"exception caught", b"HardFault", b"FATAL", b"Guru Meditation", b"panic")


def is_serial_port(target: str) -> bool:
    """Does `target` name a serial port (a path such as /dev/ttyACM0, or COM3 on Windows)?"""
    return bool(_PORT_RE.match(target))


def reply_timeout() -> float:
    return min(REPLY_TIMEOUT, float(os.environ.get("ULAB_ML_TARGET_TIMEOUT", REPLY_TIMEOUT)))


@dataclass
class RunInfo:
    """What the board said about one job (kept in `last_runs` for callers that report it)."""

    port: str
    model: str
    backend: str
    mode: str
    heap_free_before_load: int
    heap_free_after_load: int
    seconds: float


last_runs: list[RunInfo] = []


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class _Link:
    """The open serial connection: raw REPL commands and line reads with board-death checks."""

    def __init__(self, port: str, soft_reset: bool = True) -> None:
        self.port = port
        try:
            from mpremote.transport import TransportError
            from mpremote.transport_serial import SerialTransport
        except ImportError as exc:
            raise TargetError("mpremote is not installed in this Python environment "
                              "(requirements.txt pins it)") from exc
        noise = io.StringIO()  # mpremote prints what it read when it cannot enter the raw REPL
        try:
            with contextlib.redirect_stdout(noise):
                # A read timeout, so a silent pseudo-terminal cannot block mpremote's reads forever.
                self.t = SerialTransport(port, baudrate=115200, timeout=READ_TIMEOUT)
        except (TransportError, OSError) as exc:
            raise TargetError(f"no board on {port}: {exc}") from exc
        try:
            with contextlib.redirect_stdout(noise):
                self.t.enter_raw_repl(soft_reset=soft_reset)
        except (TransportError, OSError) as exc:
            self.close()
            seen = noise.getvalue().strip()
            raise TargetError(f"no MicroPython answering on {port}: {exc}"
                              f"{f' (it sent {seen[:200]})' if seen else ''}") from exc
        self.ser = self.t.serial
        self.buf = bytearray()
        self.tail = bytearray()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self.t, "in_raw_repl", False):
                self.t.exit_raw_repl()
        with contextlib.suppress(Exception):
            self.t.close()

    def _lost(self, exc: BaseException, what: str) -> TargetError:
        return TargetError(f"lost the board on {self.port} {what} (it reset, lost power or was "
                           f"disconnected): {exc}{self._tail_text()}")

    def _tail_text(self) -> str:
        """The board's last output besides the runner's own lines (a traceback, a fault dump)."""
        lines = [ln for ln in bytes(self.tail).split(b"\n") if not ln.startswith(b"ULML-")]
        text = b"\n".join(lines)[-600:].decode(errors="replace").strip()
        return f"; last output: {text}" if text else ""

    def _read_some(self, what: str) -> bytes:
        try:
            return self.ser.read(max(1, self.ser.in_waiting))
        except Exception as exc:  # serial.SerialException, OSError: the port went away
            raise self._lost(exc, what) from exc

    def _read_exact(self, n: int, timeout: float, what: str) -> bytes:
        """n bytes from the buffer and the port, reading no further (what follows is mpremote's)."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            try:
                data = self.ser.read(n - len(self.buf))
            except Exception as exc:
                raise self._lost(exc, what) from exc
            self.buf += data
            if not data and time.monotonic() > deadline:
                raise TargetError(f"the board on {self.port} stopped answering {what}{self._tail_text()}")
        head = bytes(self.buf[:n])
        del self.buf[:n]
        return head

    def _read_until(self, token: bytes, timeout: float, what: str) -> bytes:
        deadline = time.monotonic() + timeout
        while token not in self.buf:
            data = self._read_some(what)
            self.buf += data
            self.tail = (self.tail + data)[-2000:]
            if not data and time.monotonic() > deadline:
                raise TargetError(f"the board on {self.port} stopped answering {what}{self._tail_text()}")
        i = self.buf.index(token) + len(token)
        head = bytes(self.buf[:i])
        del self.buf[:i]
        return head

    def exec_no_follow(self, code: str, what: str) -> None:
        """Start `code` in the raw REPL (raw-paste mode with its flow control where the board
        has it, as mpremote does); its output is then read with read_line."""
        timeout = reply_timeout()
        self._read_until(b">", timeout, what)  # the raw REPL's prompt
        data = code.encode()
        self.write(b"\x05A\x01", what)
        resp = self._read_exact(2, timeout, what)
        if resp == b"R\x01":
            try:
                self.t.raw_paste_write(data)
            except Exception as exc:
                raise self._lost(exc, what) from exc
        else:
            if resp != b"R\x00":  # a board without raw-paste mode: back at the raw REPL
                self._read_until(b"w REPL; CTRL-B to exit\r\n>", timeout, what)
            for i in range(0, len(data), 256):
                self.write(data[i:i + 256], what)
                time.sleep(0.01)
            self.write(b"\x04", what)
            if self._read_exact(2, timeout, what) != b"OK":
                raise TargetError(f"the board on {self.port} did not run the code sent {what}{self._tail_text()}")
        self.tail = bytearray()

    def write(self, data: bytes, what: str) -> None:
        try:
            self.ser.write(data)
        except Exception as exc:
            raise self._lost(exc, what) from exc

    def read_line(self, timeout: float, what: str) -> bytes:
        """The next line of the runner's output (without CR LF). b"\\x04" alone means the
        runner returned (the raw REPL's end of output)."""
        deadline = time.monotonic() + timeout
        while True:
            eot = self.buf.find(b"\x04")
            nl = self.buf.find(b"\n")
            if eot >= 0 and (nl < 0 or eot < nl):
                del self.buf[:eot + 1]
                return b"\x04"
            if nl >= 0:
                line = bytes(self.buf[:nl]).rstrip(b"\r")
                del self.buf[:nl + 1]
                return line
            data = self._read_some(what)
            if data:
                self.buf += data
                self.tail = (self.tail + data)[-2000:]
                self._check_alive(what)
                deadline = time.monotonic() + timeout
            elif time.monotonic() > deadline:
                raise TargetError(f"the board on {self.port} stopped answering {what} (no output for "
                                  f"{timeout:g} s: hung or crashed){self._tail_text()}")

    def _check_alive(self, what: str) -> None:
        tail = bytes(self.tail)
        for mark in _FAULT_MARKS:
            if mark in tail:
                time.sleep(0.3)  # let the rest of a fault dump arrive
                with contextlib.suppress(Exception):
                    self.tail += self.ser.read(self.ser.in_waiting)
                raise TargetError(f"the board on {self.port} crashed {what}{self._tail_text()}")
        for mark in _RESET_MARKS:
            if mark in tail:
                raise TargetError(f"the board on {self.port} reset {what}{self._tail_text()}")

    def read_error_output(self, timeout: float, what: str) -> str:
        """After the runner's first end marker: its error output up to the second."""
        out = bytearray()
        while True:
            line = self.read_line(timeout, what)
            if line == b"\x04":
                return out.decode(errors="replace").strip()
            out += line + b"\n"


def _input_lines(job: Job) -> list[bytes]:
    x = np.ascontiguousarray(job.inputs)
    x = x.astype(x.dtype.newbyteorder("<"))
    return [row.tobytes().hex().encode() + b"\n" for row in x]


def _run_job(link: _Link, job: Job, name: str, out: np.ndarray) -> np.ndarray | ModelRejected:
    t0 = time.monotonic()
    timeout = reply_timeout()
    n = len(job.inputs)
    what = f"while loading {name}"
    link.exec_no_follow(f"_ulml_job({name!r}, {job.mode!r}, {n})\n", what)
    rows = _input_lines(job)
    dt = np.dtype(job.output_dtype).newbyteorder("<")
    result: np.ndarray | ModelRejected | None = None
    done = 0
    ready = False
    while True:
        line = link.read_line(timeout, what)
        if line == b"\x04":
            err = link.read_error_output(timeout, what)
            if result is None or err:
                raise TargetError(f"the runner on {link.port} stopped {what}"
                                  f"{': ' + err if err else ' without a result'}{link._tail_text()}")
            break
        parts = line.decode(errors="replace").split(" ", 3)
        tag = parts[0]
        if tag == "ULML-READY":
            backend, mode, nbytes, free0, free1 = line.decode(errors="replace").split()[1:6]
            nb = int(nbytes)
            if len(rows) and len(rows[0]) != 2 * nb + 1:
                raise TargetError(f"the board's model {name} takes {nb} input bytes, the host sent "
                                  f"{(len(rows[0]) - 1) // 2}")
            last_runs.append(RunInfo(link.port, name, backend, mode, int(free0), int(free1), 0.0))
            ready = True
            what = f"while running {name} (input 1 of {n})"
            if n:
                link.write(rows[0], what)
        elif tag == "ULML-OUT":
            data = bytes.fromhex(parts[1])
            out[done] = np.frombuffer(data, dtype=dt).reshape(job.output_shape)
            done += 1
            what = f"while running {name} (input {done + 1} of {n})" if done < n else f"after running {name}"
            if done < n:
                link.write(rows[done], what)
        elif tag == "ULML-END":
            result = out
        elif tag == "ULML-ERR":
            free, kind = parts[1], parts[2]
            msg = parts[3] if len(parts) > 3 else ""
            at = f"input {done + 1} of {n}" if ready else f"loading {name}"
            result = ModelRejected(f"{kind}: {msg} ({at}; {free} bytes of heap free on the board)")
        elif tag == "ULML-NOLIB":
            raise TargetError(f"ulab_ml cannot be imported on the board on {link.port}: "
                              f"{' '.join(parts[1:])}")
        elif tag == "ULML-DESYNC":
            raise TargetError(f"the board on {link.port} received a garbled input (input {int(parts[1]) + 1} "
                              f"of {n}): the serial link loses bytes")
    if isinstance(result, np.ndarray):
        if done != n:
            raise TargetError(f"the board on {link.port} answered {done} of {n} inputs")
        if last_runs:
            last_runs[-1].seconds = time.monotonic() - t0
    return result


def run_serial(port: str, jobs: list[Job], *, log: Callable[[str], None] = _stderr) -> list[np.ndarray | ModelRejected]:
    """Run jobs on the MicroPython board on serial `port`, after copying what it needs
    (deploy.deploy); each job's model is the board file Job.name (default ulml_model.uml,
    ulml_model1.uml, ... per distinct model)."""
    from .deploy import DeployError, deploy

    names: dict[bytes, str] = {}
    for job in jobs:
        if job.blob in names and job.name in (None, names[job.blob]):
            continue
        name = job.name or (DEFAULT_MODEL_NAME if not names else f"ulml_model{len(names)}.uml")
        if "/" in name or not name.endswith(".uml"):
            raise ValueError(f"model file name on the board must be a plain name ending in .uml (got {name!r})")
        if job.blob in names or name in names.values():
            raise ValueError(f"two different models, or one model under two names, for {name} on the board")
        names[job.blob] = name
    # Is MicroPython there? (Fails in seconds, where mpremote would wait on a silent pty forever.)
    _Link(port, soft_reset=False).close()
    for blob, name in names.items():
        try:
            deploy(blob, name, port, log=log)
        except DeployError as exc:
            raise TargetError(str(exc)) from exc

    results: list[np.ndarray | ModelRejected] = []
    link = _Link(port)  # soft reset: the heap as after boot
    try:
        link.exec_no_follow(DEVICE_RUNNER, "while starting the runner")
        end = link.read_line(reply_timeout(), "while starting the runner")
        err = link.read_error_output(reply_timeout(), "while starting the runner")
        if end != b"\x04" or err:
            raise TargetError(f"the runner did not start on {port}: {err or end.decode(errors='replace')}")
        for job in jobs:
            out = np.zeros((len(job.inputs), *job.output_shape), dtype=job.output_dtype)
            results.append(_run_job(link, job, names[job.blob], out))
            if isinstance(results[-1], np.ndarray) and last_runs:
                r = last_runs[-1]
                log(f"{len(job.inputs)} inferences of {r.model} on {port} in {r.seconds:.1f} s: backend "
                    f"{r.backend}, weights {r.mode}; heap free {r.heap_free_before_load} bytes before "
                    f"Model.load, {r.heap_free_after_load} with the model loaded")
    finally:
        link.close()
    return results
