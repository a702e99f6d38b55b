"""The mpremote workflow, end to end, on the QEMU boards (boards/qemu-*).

The firmwares mount a littlefs filesystem at / (boards/qemu-common/qemu_flash.c) and
ulab_ml_host.board puts their UART on a pseudo-terminal, so the real mpremote (PyPI) talks to
them as to a USB board:

- `ulab-ml deploy` to qemu-m0 (RP2040 stand-in, armv6m) and qemu-m4 (STM32F7 stand-in,
  armv7emsp) copies the package, the native module of the arch the board reports and the model,
  skips all three the second time, and `mpremote exec` then runs inference bit-exact with
  TensorFlow Lite Micro: the project's waveform example (oracle run here) always, and the shared
  emlearn MNIST CNN golden cases when ../shared/models is present;
- the README's "On your board" plain-mpremote commands, run verbatim (port and arch filled in),
  give the same on qemu-m0, and `mpremote run examples/waveform/main.py` works;
- the filesystem's heap cost, the free heap at the prompt (board.json), mpremote's file
  commands, a filesystem image kept across QEMU runs (--fs-image), and exit 2 for no board and
  for an arch no native module fits.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, SHARED_MODELS, build_qemu_boards
from ulab_ml_host.board import RunningBoard, running_board, start_board
from ulab_ml_host.deploy import BoardFacts, DeployError, choose_natmod

WAVEFORM = ROOT / "examples" / "waveform"
MNIST = SHARED_MODELS / "emlearn_mnist_cnn"
MPREMOTE = [sys.executable, "-m", "mpremote"]
NATMOD_ARCH = {"qemu-m0": "armv6m", "qemu-m3": "armv7m", "qemu-m4": "armv7emsp"}


@pytest.fixture(scope="module", autouse=True)
def built_boards() -> None:
    pytest.importorskip("mpremote", reason="mpremote not installed (requirements.txt)")
    build_qemu_boards()


@pytest.fixture(scope="module")
def board() -> Iterator[Callable[[str], RunningBoard]]:
    """board(name): a QEMU board running for the rest of this module (stopped at its end)."""
    started: dict[str, RunningBoard] = {}

    def get(name: str) -> RunningBoard:
        if name not in started:
            started[name] = start_board(name)
        return started[name]

    yield get
    for rb in started.values():
        rb.stop()
    assert not any(rb.alive() for rb in started.values())


def mpremote(port: str, *args: str, timeout: float = 120) -> str:
    proc = subprocess.run([*MPREMOTE, "connect", port, *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"mpremote {' '.join(args)[:200]} failed: {proc.stderr}{proc.stdout}"
    return proc.stdout


def ulab_ml(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ulab_ml_host.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def infer_on_board(port: str, model: str, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """`mpremote exec`: load `model` on the board, run every input of x (N, *shape, int8);
    outputs (N, n_out) int8 and [backend, weights mode, heap free before import, after load]."""
    code = f"""
import gc, binascii
gc.collect()
f0 = gc.mem_free()
from ulab_ml import Model
m = Model.load({model!r})
gc.collect()
f1 = gc.mem_free()
X = binascii.unhexlify({x.astype(np.int8).tobytes().hex()!r})
n = m.input_bytes
buf = bytearray(n)
for i in range(len(X) // n):
    buf[:] = X[i * n:(i + 1) * n]
    print('ULML-OUT', binascii.hexlify(m.infer(buf)).decode())
print('ULML-INFO', m.backend, m.mode, f0, f1)
"""
    out = mpremote(port, "exec", code)
    rows = [np.frombuffer(bytes.fromhex(ln.split()[1]), dtype=np.int8) for ln in out.splitlines()
            if ln.startswith("ULML-OUT ")]
    info = next(ln.split()[1:] for ln in out.splitlines() if ln.startswith("ULML-INFO "))
    assert len(rows) == len(x), out
    return np.stack(rows), info


@pytest.fixture(scope="module")
def waveform_oracle() -> tuple[np.ndarray, np.ndarray]:
    """The waveform example's 16 test windows and TensorFlow Lite Micro's outputs for them."""
    from ulab_ml_host.oracle import run_oracle

    x = np.load(WAVEFORM / "test_inputs.npy")
    (y,) = run_oracle([((WAVEFORM / "waveform.tflite").read_bytes(), x)])
    assert isinstance(y, np.ndarray), f"TensorFlow Lite Micro could not run the waveform model: {y}"
    return x, y.reshape(len(x), -1)


def assert_bit_exact(got: np.ndarray, want: np.ndarray, what: str) -> None:
    diff = np.argwhere(got != want)
    assert len(diff) == 0, (f"{what}: {len(diff)} of {want.size} values differ from TensorFlow Lite Micro; "
                            f"first at {tuple(diff[0])}: {got[tuple(diff[0])]} vs {want[tuple(diff[0])]}")


@pytest.mark.parametrize("name", ["qemu-m0", "qemu-m4"])
def test_deploy_then_mpremote_exec_bit_exact(name: str, board: Callable[[str], RunningBoard],
                                             waveform_oracle: tuple[np.ndarray, np.ndarray]) -> None:
    """`ulab-ml deploy waveform.tflite --port PTY`: 3 files copied (the board's own native
    module), then all 3 skipped; `mpremote exec` inference equals TFLM's bit for bit."""
    rb = board(name)
    arch = NATMOD_ARCH[name]
    t0 = time.monotonic()
    first = ulab_ml("deploy", str(WAVEFORM / "waveform.tflite"), "--port", rb.port)
    t1 = time.monotonic()
    assert first.returncode == 0, first.stderr + first.stdout
    assert f"native arch {arch} -> ulab_ml_{arch}.mpy" in first.stdout, first.stdout
    for f in ("ulab_ml/__init__.py", f"ulab_ml_{arch}.mpy", "waveform.uml"):
        assert re.search(rf"copied +{re.escape(f)} ", first.stdout), first.stdout
    again = ulab_ml("deploy", str(WAVEFORM / "waveform.tflite"), "--port", rb.port)
    t2 = time.monotonic()
    assert again.returncode == 0, again.stderr + again.stdout
    assert again.stdout.count("(identical on the board)") == 3 and "0 copied, 3 skipped" in again.stdout, again.stdout

    x, want = waveform_oracle
    got, (backend, mode, free0, free1) = infer_on_board(rb.port, "waveform.uml", x)
    t3 = time.monotonic()
    assert backend == f"native-{arch}", f"ulab_ml did not run its native module: backend {backend}"
    assert_bit_exact(got, want, f"{name} waveform")
    print(f"\n{name}: deploy {t1 - t0:.1f} s (3 copied), again {t2 - t1:.1f} s (3 skipped), "
          f"exec of {len(x)} inferences {t3 - t2:.1f} s; heap free {free0} before importing ulab_ml, "
          f"{free1} with the model loaded ({mode})")


@pytest.mark.parametrize("name", ["qemu-m0", "qemu-m4"])
def test_deploy_shared_golden_mnist(name: str, board: Callable[[str], RunningBoard]) -> None:
    """The emlearn MNIST CNN (../shared/models): deploy copies the model (package and native
    module are already there, or copied if this runs alone); its 10 golden cases bit-exact."""
    gdir = MNIST / "golden"
    if not (gdir / "golden.json").is_file():
        pytest.skip(f"shared golden model not found: {gdir} (expected ../shared/models relative to the repo, "
                    "or set ULAB_ML_SHARED_MODELS); the waveform tests above need no shared models")
    meta = json.loads((gdir / "golden.json").read_text())
    rb = board(name)
    proc = ulab_ml("deploy", str(MNIST / meta["model"]), "--port", rb.port, "--name", "mnist.uml")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert re.search(r"copied +mnist\.uml ", proc.stdout), proc.stdout
    x = np.stack([np.frombuffer((gdir / c["input_file"]).read_bytes(), dtype=np.int8) for c in meta["cases"]])
    want = np.stack([np.frombuffer((gdir / c["output_file"]).read_bytes(), dtype=np.int8) for c in meta["cases"]])
    got, (backend, _, _, _) = infer_on_board(rb.port, "mnist.uml", x)
    assert backend == f"native-{NATMOD_ARCH[name]}"
    assert_bit_exact(got, want, f"{name} emlearn_mnist_cnn golden")


def _readme_block() -> str:
    """The plain-mpremote command block of README.md's "On your board" section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## On your board\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    block = next((b for b in blocks if re.search(r"^ARCH=", b, re.M)), None)
    assert block is not None, "README.md: no sh block with ARCH= in the 'On your board' section"
    return block


def test_readme_plain_mpremote_commands(board: Callable[[str], RunningBoard], tmp_path: Path,
                                        waveform_oracle: tuple[np.ndarray, np.ndarray]) -> None:
    """README's by-hand commands (mpremote mkdir/cp/exec/run), verbatim but for PORT and ARCH,
    on a fresh qemu-m0; then `mpremote exec` inference bit-exact and main.py's own verdict."""
    block = _readme_block()
    with running_board("qemu-m0") as rb:
        script = re.sub(r"^PORT=.*$", f"PORT={rb.port}", block, count=1, flags=re.M)
        script = re.sub(r"^ARCH=.*$", "ARCH=armv6m", script, count=1, flags=re.M)
        # Run from a scratch directory that looks like the repository root, so waveform.uml
        # (written by `ulab-ml convert`) does not land in the checkout.
        for entry in ("examples", "ulab_ml", ".cache", ".venv"):
            (tmp_path / entry).symlink_to(ROOT / entry)
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        t0 = time.monotonic()
        proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        t1 = time.monotonic()
        assert proc.returncode == 0, f"README commands failed:\n{script}\n{proc.stderr}{proc.stdout}"
        assert "native-armv6m" in proc.stdout, proc.stdout
        assert re.search(r"^12/12 correct", proc.stdout, re.M), proc.stdout   # main.py via mpremote run
        again = mpremote(rb.port, "cp", str(ROOT / "ulab_ml" / "__init__.py"), ":ulab_ml/")
        assert "Up to date" in again, again  # mpremote 1.29's cp compares SHA-256 itself
        x, want = waveform_oracle
        got, (backend, _, _, _) = infer_on_board(rb.port, "waveform.uml", x)
        assert backend == "native-armv6m"
        assert_bit_exact(got, want, "qemu-m0 (README commands) waveform")
    print(f"\nREADME commands on qemu-m0: {t1 - t0:.1f} s")


def test_filesystem_heap_and_mpremote_file_commands(board: Callable[[str], RunningBoard]) -> None:
    """On qemu-m4 (already running): the mounted filesystem holds < 1 KB of heap, and without it
    the heap is board.json's figure (what the batch runner sees); mpremote's file commands."""
    rb = board("qemu-m4")
    out = mpremote(rb.port, "exec", "import gc, vfs\ngc.collect()\na = gc.mem_free()\nvfs.umount('/')\n"
                                    "gc.collect()\nprint('ULML-HEAP', a, gc.mem_free())")
    a, b = (int(v) for v in next(ln for ln in out.splitlines() if ln.startswith("ULML-HEAP")).split()[1:])
    boot = json.loads((ROOT / "boards" / "qemu-m4" / "board.json").read_text())["free_heap_bytes"]
    print(f"\nqemu-m4: the mounted filesystem holds {b - a} bytes of heap; free in an exec: {a} with it, "
          f"{b} without (board.json: {boot} at the prompt)")
    assert 0 < b - a < 1024
    assert boot - 512 < b <= boot, f"free heap without the filesystem {b} (in mpremote exec) vs board.json {boot}"

    data = bytes(range(256)) * 20
    src = Path(rb.workdir) / "blob.bin"
    src.write_bytes(data)
    out = mpremote(rb.port, "mkdir", ":d", "+", "cp", str(src), ":d/blob.bin", "+", "ls", ":d", "+",
                   "sha256sum", ":d/blob.bin", "+", "df", "+", "touch", ":d/t", "+", "soft-reset", "+",
                   "exec", "import os; print('ULML-LS', sorted(os.listdir('d')))", "+", "rm", "-r", ":d", "+", "ls")
    assert f"{len(data)} blob.bin" in out, out
    assert hashlib.sha256(data).hexdigest() in out, out
    assert re.search(r"<VfsLfs2>\s+2097152", out), out
    assert "ULML-LS ['blob.bin', 't']" in out, out
    assert "d/" not in out.rsplit("ls :", 1)[-1], out
    assert "hello" in mpremote(rb.port, "exec", "with open('h.txt', 'w') as f: f.write('hello')", "+", "cat", ":h.txt")


def test_fs_image_survives_qemu_restart(tmp_path: Path) -> None:
    """start --fs-image: the filesystem is saved when QEMU stops and loaded at the next start."""
    img = tmp_path / "m3.img"
    with running_board("qemu-m3", fs_image=img) as rb:
        mpremote(rb.port, "exec", "with open('keep.txt', 'w') as f: f.write('kept across runs')")
    assert img.stat().st_size == 2 * 1024 * 1024
    with running_board("qemu-m3", fs_image=img) as rb:
        assert "kept across runs" in mpremote(rb.port, "cat", ":keep.txt")
        pid = rb.pid
    assert not Path(f"/proc/{pid}").exists(), "QEMU still running (or unreaped) after the with block"


def test_board_cli_start_detach_status_stop(tmp_path: Path) -> None:
    """`python -m ulab_ml_host.board start --detach` prints the port and returns with QEMU
    running; a second start reuses it; `status` shows it; `stop` ends it."""
    env = dict(os.environ, ULAB_ML_BOARD_STATE=str(tmp_path))
    board_cli = [sys.executable, "-m", "ulab_ml_host.board"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*board_cli, *args], capture_output=True, text=True, env=env, timeout=60)

    started = run("start", "qemu-m3", "--detach")
    assert started.returncode == 0, started.stderr
    port = started.stdout.strip()
    pid = json.loads((tmp_path / "qemu-m3" / "session.json").read_text())["pid"]
    try:
        assert port.startswith("/dev/pts/") and Path(f"/proc/{pid}").exists()
        assert "ULML-OK" in mpremote(port, "exec", "print('ULML-OK')")
        assert run("start", "qemu-m3", "--detach").stdout.strip() == port
        assert f"qemu-m3: running on {port} (pid {pid})" in run("status").stdout
        stopped = run("stop", "qemu-m3")
        assert stopped.returncode == 0, stopped.stderr
        assert "qemu-m3: not running" in run("status").stdout
        end = time.monotonic() + 10
        while Path(f"/proc/{pid}/cmdline").exists() and Path(f"/proc/{pid}/cmdline").read_bytes() \
                and time.monotonic() < end:
            time.sleep(0.1)
        assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        if Path(f"/proc/{pid}").exists():
            run("stop", "qemu-m3")


def test_deploy_without_a_board_exits_2(tmp_path: Path) -> None:
    proc = ulab_ml("deploy", str(WAVEFORM / "waveform.tflite"), "--port", str(tmp_path / "no-such-tty"))
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "no board on" in proc.stderr, proc.stderr


@pytest.mark.parametrize("mpy, message", [
    (6 | 3 << 8 | 10 << 10, "no ulab_ml native module for the board's arch xtensawin"),   # ESP32
    (6 | 3 << 8, "cannot load native modules"),                                            # no native arch
    (6 | 2 << 8 | 4 << 10, "mpy v6.3 but the board's MicroPython takes native modules of mpy v6.2"),
])
def test_deploy_arch_errors(mpy: int, message: str) -> None:
    facts = BoardFacts(mpy=mpy, platform="esp32", machine="some board", cwd="/", fs_free=None, files={})
    with pytest.raises(DeployError, match=re.escape(message)) as exc:
        choose_natmod(facts)
    assert exc.value.code == 2
