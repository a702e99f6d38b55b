"""A QEMU board (boards/qemu-*) as a serial device for mpremote: its UART on a pseudo-terminal.

    python -m ulab_ml_host.board start qemu-m0            # prints the port; runs until Ctrl-C
    python -m ulab_ml_host.board start qemu-m0 --detach   # prints the port and returns
    python -m ulab_ml_host.board stop qemu-m0             # (a detached board)
    python -m ulab_ml_host.board status

One board of each name runs per checkout under `start`/`stop` (state in .cache/qemu/<board>/
session.json; `start --detach` of a running one prints its port again). `start` prints the port
(e.g. /dev/pts/3) alone on the first line of stdout, so
`PORT=$(python -m ulab_ml_host.board start qemu-m0 --detach)` works; then
`mpremote connect $PORT ...` and `ulab-ml deploy MODEL --port $PORT` talk to the board as to a
USB one. The firmware mounts a littlefs filesystem at / (boards/qemu-common/qemu_flash.c), in the
board's flash (qemu-m0) or spare memory (qemu-m3/m4): it survives soft resets, not QEMU's exit,
unless --fs-image FILE is given: the filesystem is then loaded from FILE at start (if it
exists) and written back to it by `stop` (through QEMU's monitor, `memsave`).

machine.reset() ends QEMU, as in ulab_ml_host.qemu's batch runs: the emulated board powers off
rather than rebooting. (`mpremote reset` does nothing here: it imports `time`, which the qemu
port lacks, and does not wait for the error.)

In Python (tests): `with running_board("qemu-m4") as b: ... b.port ...`; QEMU is stopped when
the block ends, whatever happens in it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .qemu import BOARDS_DIR, QEMU_BOARDS, QEMU_CACHE, QEMU_SYSTEM, QemuBoard, ensure_built, load_board
from .targets import TargetError

_PTY_LINE = re.compile(rb"char device redirected to (\S+) \(label serial0\)")


def fs_region(name: str) -> tuple[int, int]:
    """(address, size) of the board's filesystem storage (board.json qemu.fs_addr/fs_size)."""
    q = json.loads((BOARDS_DIR / name / "board.json").read_text())["qemu"]
    return int(q["fs_addr"], 0), int(q["fs_size"], 0)


@dataclass
class RunningBoard:
    """A QEMU process whose board UART is the pseudo-terminal `port`."""

    name: str
    port: str
    pid: int
    workdir: Path                      # QEMU's log and monitor socket (removed by stop())
    fs_image: Path | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)  # if started by this process

    @property
    def monitor_path(self) -> Path:
        return self.workdir / "monitor.sock"

    @property
    def log_path(self) -> Path:
        return self.workdir / "qemu.log"

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return _is_our_qemu(self.pid, self.workdir)

    def monitor(self, command: str, timeout: float = 10.0) -> str:
        """Run one QEMU human-monitor command; its output."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.monitor_path))
            out = _read_prompt(s)
            s.sendall(command.encode() + b"\n")
            out = _read_prompt(s)
        text = out.decode(errors="replace").replace("\r", "")
        lines = text.split("\n")[1:-1]  # drop the echoed command and the next prompt
        return "\n".join(lines).strip()

    def save_fs(self, path: Path) -> None:
        """Write the board's filesystem storage to `path` (the image --fs-image loads)."""
        addr, size = fs_region(self.name)
        path = Path(path).resolve()
        tmp = path.with_name(path.name + ".part")
        out = self.monitor(f'memsave {addr:#x} {size:#x} "{tmp}"')  # the CPU's view (nRF51 flash)
        if out or not tmp.is_file() or tmp.stat().st_size != size:
            raise TargetError(f"{self.name}: could not save the filesystem to {path}: {out or 'no file written'}")
        tmp.replace(path)

    def stop(self, timeout: float = 10.0) -> None:
        """Save the filesystem (if fs_image) and end QEMU; kill it if it does not go."""
        try:
            if self.alive() and self.fs_image is not None:
                self.save_fs(self.fs_image)
        finally:
            if self.alive():
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGTERM)
                if not _wait_gone(self, timeout):
                    with contextlib.suppress(OSError):
                        os.kill(self.pid, signal.SIGKILL)
                    _wait_gone(self, timeout)
            if self.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=timeout)
            shutil.rmtree(self.workdir, ignore_errors=True)


def _read_prompt(s: socket.socket) -> bytes:
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def _wait_gone(board: RunningBoard, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if board.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                board.proc.wait(timeout=0.1)
        if not board.alive():
            return True
        time.sleep(0.05)
    return not board.alive()


def _is_our_qemu(pid: int, workdir: Path) -> bool:
    """Is `pid` a live QEMU started with this work directory (not a recycled pid)?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and str(workdir).encode() in cmdline


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started QEMU dies (Linux
    PR_SET_PDEATHSIG), so a killed test run or `start` leaves no QEMU behind."""
    with contextlib.suppress(Exception):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1


def qemu_argv(board: QemuBoard, workdir: Path, fs_image: Path | None) -> list[str]:
    """qemu-system-arm command line: UART on a new pty, monitor on a unix socket in workdir."""
    argv = [QEMU_SYSTEM, "-machine", board.machine, *board.qemu_args, "-display", "none",
            "-monitor", f"unix:{workdir / 'monitor.sock'},server=on,wait=off",
            "-serial", "pty", "-semihosting", "-kernel", str(board.firmware)]
    if fs_image is not None and fs_image.is_file():
        addr, size = fs_region(board.name)
        if fs_image.stat().st_size > size:
            raise TargetError(f"{fs_image}: {fs_image.stat().st_size} bytes, more than the "
                              f"{size}-byte filesystem of {board.name}")
        argv += ["-device", f"loader,file={fs_image},addr={addr:#x},force-raw=on"]
    return argv


def start_board(name: str, *, fs_image: Path | None = None, detach: bool = False,
                timeout: float = 15.0) -> RunningBoard:
    """Start QEMU board `name` with its UART on a pseudo-terminal; return once the port exists.
    detach: QEMU outlives this process (its own session, no pipes to us)."""
    board = load_board(name)
    ensure_built(board)
    fs_image = Path(fs_image).resolve() if fs_image is not None else None
    # Short path: unix socket names are limited to 107 bytes.
    workdir = Path(tempfile.mkdtemp(prefix=f"ulab_ml_{name}_"))
    argv = qemu_argv(board, workdir, fs_image)
    log = open(workdir / "qemu.log", "wb")  # noqa: SIM115 (QEMU keeps its own copy of the fd)
    try:
        # Own session: Ctrl-C in a terminal reaches us (stop() then saves the filesystem), not QEMU.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=None if detach else _die_with_parent)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise TargetError(f"cannot start {argv[0]}: {exc} (scripts/setup.sh installs qemu-system-arm)") from exc
    finally:
        log.close()
    rb = RunningBoard(name, "", proc.pid, workdir, fs_image, proc)
    end = time.monotonic() + timeout
    while True:
        text = (workdir / "qemu.log").read_bytes()
        m = _PTY_LINE.search(text)
        if m and (workdir / "monitor.sock").exists():
            rb.port = m.group(1).decode()
            break
        if proc.poll() is not None or time.monotonic() > end:
            rb.stop()
            why = f"exited with status {proc.returncode}" if proc.returncode is not None else "timed out"
            raise TargetError(f"{name}: QEMU {why} before opening its serial port: "
                              f"{text.decode(errors='replace').strip()[-1000:]}")
        time.sleep(0.02)
    if detach:
        rb.proc = None  # not waited for by us; stop() finds it by pid
    return rb


@contextlib.contextmanager
def running_board(name: str, *, fs_image: Path | None = None, timeout: float = 15.0) -> Iterator[RunningBoard]:
    """`with running_board("qemu-m0") as b:` a started board (b.port), stopped at the end."""
    rb = start_board(name, fs_image=fs_image, timeout=timeout)
    try:
        yield rb
    finally:
        rb.stop()


# --- command line ----------------------------------------------------------------------------------

def _state_path(name: str) -> Path:
    """Where `start` records a board for `stop`/`status` (ULAB_ML_BOARD_STATE overrides the
    directory, e.g. for tests that must not meet a user's board)."""
    return Path(os.environ.get("ULAB_ML_BOARD_STATE", QEMU_CACHE)) / name / "session.json"


def _load_state(name: str) -> RunningBoard | None:
    try:
        d = json.loads(_state_path(name).read_text())
    except (OSError, ValueError):
        return None
    rb = RunningBoard(name, d["port"], int(d["pid"]), Path(d["workdir"]),
                      Path(d["fs_image"]) if d.get("fs_image") else None)
    if not rb.alive():
        _state_path(name).unlink(missing_ok=True)
        shutil.rmtree(rb.workdir, ignore_errors=True)
        return None
    return rb


def _save_state(rb: RunningBoard) -> None:
    _state_path(rb.name).parent.mkdir(parents=True, exist_ok=True)
    _state_path(rb.name).write_text(json.dumps({
        "port": rb.port, "pid": rb.pid, "workdir": str(rb.workdir),
        "fs_image": str(rb.fs_image) if rb.fs_image else None}) + "\n")


def _cmd_start(args: argparse.Namespace) -> int:
    old = _load_state(args.board)
    if old is not None and args.detach and args.fs_image is None:
        print(old.port, flush=True)  # one detached board per name and checkout: reuse it
        print(f"{args.board}: already running (QEMU pid {old.pid}) on {old.port}", file=sys.stderr)
        return 0
    if old is not None:
        print(f"{args.board} is already running on {old.port} (pid {old.pid}); "
              f"stop it first: python -m ulab_ml_host.board stop {args.board}", file=sys.stderr)
        return 2
    rb = start_board(args.board, fs_image=args.fs_image, detach=args.detach)
    _save_state(rb)
    print(rb.port, flush=True)
    fs_note = f", filesystem saved to {rb.fs_image} on stop" if rb.fs_image else ""
    if args.detach:
        print(f"{args.board}: QEMU pid {rb.pid}, serial port {rb.port}{fs_note}; "
              f"stop with: python -m ulab_ml_host.board stop {args.board}", file=sys.stderr)
        return 0
    print(f"{args.board}: QEMU pid {rb.pid}, serial port {rb.port}{fs_note}; Ctrl-C stops it", file=sys.stderr)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        assert rb.proc is not None
        rc = rb.proc.wait()
        print(f"{args.board}: QEMU exited (status {rc}; machine.reset() powers the emulated board off)",
              file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        rb.stop()
        _state_path(args.board).unlink(missing_ok=True)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    rb = _load_state(args.board)
    if rb is None:
        print(f"{args.board} is not running (no live session in {_state_path(args.board)})", file=sys.stderr)
        return 1
    rb.stop()
    _state_path(args.board).unlink(missing_ok=True)
    saved = f"; filesystem saved to {rb.fs_image}" if rb.fs_image else ""
    print(f"{args.board}: stopped (pid {rb.pid}){saved}", file=sys.stderr)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    for name in QEMU_BOARDS:
        rb = _load_state(name)
        print(f"{name}: " + (f"running on {rb.port} (pid {rb.pid})" if rb else "not running"))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ulab_ml_host.board", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("start", help="start a QEMU board; print its serial port")
    s.add_argument("board", choices=QEMU_BOARDS)
    s.add_argument("--detach", action="store_true", help="return once the port exists; QEMU keeps running")
    s.add_argument("--fs-image", type=Path, metavar="FILE",
                   help="load the filesystem from FILE (if it exists); save it back there on stop")
    s.set_defaults(func=_cmd_start)
    t = sub.add_parser("stop", help="stop a board started with --detach (saving --fs-image)")
    t.add_argument("board", choices=QEMU_BOARDS)
    t.set_defaults(func=_cmd_stop)
    st = sub.add_parser("status", help="which boards are running, on which port")
    st.set_defaults(func=_cmd_status)
    args = p.parse_args(argv)
    try:
        return int(args.func(args))
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
