"""`ulab-ml verify|run --target PORT`: a real board on a serial port, here a QEMU board whose
UART is a pseudo-terminal (`python -m ulab_ml_host.board start`), talked to exactly as a USB
one: deploy (mpremote), then one raw-REPL session sending inputs one at a time.

- verify of self-generated models (int8 and float32 input) is bit-exact with TensorFlow Lite
  Micro through /dev/pts/N, and `run --target PORT` writes the oracle's outputs;
- errors: a port that does not exist and a port with no MicroPython behind it (exit 3), a model
  the board rejects (MemoryError: exit 2, board still usable), a board that dies mid-run
  (exit 3).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests import test_mpremote
from tests.bench.layers import small_model
from tests.conformance.cases_pad import make as make_pad
from tests.conformance.cases_quantize import float_fc_model
from tests.test_mpremote import mpremote
from ulab_ml_host.blob import parse_blob
from ulab_ml_host.board import RunningBoard, running_board
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle

CLI = [sys.executable, "-m", "ulab_ml_host.cli"]
# test_mpremote's fixtures: the QEMU boards built (autouse) and board(name), one per module
built_boards = test_mpremote.built_boards
board = test_mpremote.board


def ulab_ml(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("serial")
    paths = {"small": d / "small.tflite", "float_fc": d / "float_fc.tflite", "huge_pad": d / "huge_pad.tflite"}
    paths["small"].write_bytes(small_model())
    paths["float_fc"].write_bytes(float_fc_model(np.random.default_rng(7), 1, 40, 6)[0])
    # 160 x 160 x 8 int8 in and 162 x 162 x 8 out: the arena alone is larger than qemu-m0's heap.
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]])
    paths["huge_pad"].write_bytes(make_pad((1, 160, 160, 8), pads, (0.05, 3), (0.05, 3)))
    return paths


def test_verify_over_serial_port_bit_exact(board: Callable[[str], RunningBoard], models: dict[str, Path],
                                           tmp_path: Path) -> None:
    """verify --target /dev/pts/N with --input and random inputs: bit-exact, exit 0, the native
    module of the board's arch; then run --target PORT writes what TensorFlow Lite Micro computes."""
    rb = board("qemu-m0")
    tflite = models["small"]
    shape = tuple(parse_blob(convert(tflite.read_bytes()).blob).input.shape)
    given = np.random.default_rng(3).integers(-128, 128, size=(3, *shape), dtype=np.int8)
    np.save(tmp_path / "given.npy", given)
    proc = ulab_ml("verify", str(tflite), "--target", rb.port, "--input", str(tmp_path / "given.npy"),
                   "--count", "5", "--seed", "4")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip() == (f"bit-exact: 8 inputs on {rb.port} (native-armv6m), 24 output values equal "
                                   "to TensorFlow Lite Micro"), proc.stdout
    assert "native arch armv6m -> ulab_ml_armv6m.mpy" in proc.stderr, proc.stderr
    assert re.search(r"(copied|skipped) +small\.uml ", proc.stderr), proc.stderr

    out = tmp_path / "out.npy"
    proc = ulab_ml("run", str(tflite), "--target", rb.port, "--input", str(tmp_path / "given.npy"),
                   "--output", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"3 inferences on {rb.port} (native-armv6m)" in proc.stdout, proc.stdout
    assert "skipped small.uml" in re.sub(r" +", " ", proc.stderr), proc.stderr  # verify already copied it
    (want,) = run_oracle([(tflite.read_bytes(), given)])
    assert isinstance(want, np.ndarray), want
    got = np.load(out)
    assert got.dtype == np.int8 and np.array_equal(got, want.reshape(got.shape))


def test_verify_float_model_over_serial_port(board: Callable[[str], RunningBoard], models: dict[str, Path]) -> None:
    """A float32-input model (QUANTIZE -> FULLY_CONNECTED -> DEQUANTIZE) on qemu-m4: bit-exact."""
    rb = board("qemu-m4")
    proc = ulab_ml("verify", str(models["float_fc"]), "--target", rb.port, "--count", "6")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert proc.stdout.strip() == (f"bit-exact: 6 inputs on {rb.port} (native-armv7emsp), 36 output values "
                                   "equal to TensorFlow Lite Micro"), proc.stdout


def test_model_the_board_rejects_exits_2(board: Callable[[str], RunningBoard], models: dict[str, Path]) -> None:
    """A model whose arena is larger than the board's heap: Model.load's MemoryError is reported
    (exit 2, as `run` does for a rejected model) and the board answers afterwards."""
    rb = board("qemu-m0")
    proc = ulab_ml("verify", str(models["huge_pad"]), "--target", rb.port, "--count", "2")
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "the device rejected the model or input: MemoryError" in proc.stderr, proc.stderr
    assert "loading huge_pad.uml" in proc.stderr and "bytes of heap free on the board" in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert "ULML-ALIVE" in mpremote(rb.port, "exec", "print('ULML-ALIVE')")


def test_port_that_does_not_exist_exits_3(models: dict[str, Path], tmp_path: Path) -> None:
    port = str(tmp_path / "ttyACM9")
    x, y = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(x, np.zeros((1, 1, 8, 8, 2), dtype=np.int8))
    model = str(models["small"])
    for args in (("verify", model), ("run", model, "--input", str(x), "--output", str(y))):
        proc = ulab_ml(*args, "--target", port)
        assert proc.returncode == 3, proc.stderr + proc.stdout
        assert f"ulab-ml: error: target {port}: no board on {port}" in proc.stderr, proc.stderr


def test_port_without_micropython_exits_3(models: dict[str, Path]) -> None:
    """A serial port nobody answers on (a pseudo-terminal whose other end stays silent)."""
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        t0 = time.monotonic()
        proc = ulab_ml("verify", str(models["small"]), "--target", port, timeout=120)
        seconds = time.monotonic() - t0
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 3, proc.stderr + proc.stdout
    assert seconds < 30, f"took {seconds:.0f} s to give up"
    assert f"target {port}: no MicroPython answering on {port}: could not enter raw repl" in proc.stderr, proc.stderr


def test_board_dying_mid_run_exits_3(models: dict[str, Path]) -> None:
    """QEMU killed (a board unplugged) while verify is sending inputs: exit 3, saying so."""
    with running_board("qemu-m0") as rb:
        proc = subprocess.Popen([*CLI, "verify", str(models["small"]), "--target", rb.port, "--count", "5000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # deploy's log ends with "N copied, M skipped in T s. ..."
            lines.append(line)
            if re.match(r"\d+ copied, \d+ skipped", line):
                break
        assert proc.poll() is None, "".join(lines)
        time.sleep(2.0)  # well into the 5000 inputs (about 10 ms each)
        rb.stop()
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, "".join(lines) + err + out
    assert re.search(rf"target {re.escape(rb.port)}: lost the board on {re.escape(rb.port)} while running "
                     r"small\.uml \(input \d+ of 5000\)", err), err
    assert out == ""
