"""The example projects run end to end: each examples/<name>/train.py --tiny trains a tiny Keras
model on its own synthetic data and quantizes it (ulab_ml_host.quantize); the .tflite converts; it
runs bit-exact with TensorFlow Lite Micro on the emulated boards qemu-m0 and qemu-m4 (and the unix
port); and the example's board-side main.py runs on the MicroPython unix port next to the .uml, and on
qemu-m0 through the board workflow (ulab-ml deploy, mpremote run)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, build_qemu_boards
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON
from ulab_ml_host.quantize import edge_params
from ulab_ml_host.targets import Job, run_jobs

PYTHON = ROOT / ".venv" / "bin" / "python"
EXAMPLES = ("gesture", "anomaly", "kws")
# What main.py prints last, per example.
SUMMARY = {"gesture": r"^\d+/8 correct$", "anomaly": r"^\d+ of 5 flagged$", "kws": r"^\d+/6 correct$"}

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                                reason="TensorFlow not installed (scripts/setup.sh installs "
                                       "requirements-quantize.txt); the examples train with Keras")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run the three train.py --tiny at once (one TensorFlow thread each)."""
    base = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    procs = {}
    for name in EXAMPLES:
        out = base / name
        procs[name] = (out, subprocess.Popen(
            [str(PYTHON), str(ROOT / "examples" / name / "train.py"), "--tiny", "--quiet", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    dirs = {}
    for name, (out, proc) in procs.items():
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}/train.py --tiny failed:\n{log[-4000:]}"
        dirs[name] = out
    return dirs


@pytest.mark.parametrize("name", EXAMPLES)
def test_train_writes_a_convertible_model(trained: dict[str, Path], name: str) -> None:
    d = trained[name]
    for f in (f"{name}.keras", f"{name}.tflite", "calib.npy", "val_x.npy", "val_y.npy", "test_inputs.npy",
              "test_labels.npy"):
        assert (d / f).is_file(), f
    if name == "anomaly":
        assert (d / "anomaly.json").is_file()
    tflite = (d / f"{name}.tflite").read_bytes()
    p = edge_params(tflite)
    assert (p.input_dtype, p.output_dtype) == ("int8", "int8")
    conv = convert(tflite)     # raises UnsupportedModel naming the ops if ulab_ml cannot run it
    x = np.load(d / "test_inputs.npy")
    assert x.dtype == np.int8 and x.shape[1:] == p.input_shape
    (d / f"{name}.uml").write_bytes(conv.blob)


@pytest.fixture(scope="module")
def qemu_boards() -> None:
    build_qemu_boards()


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m4", "unix"])
def test_examples_bit_exact_on_target(trained: dict[str, Path], target: str, request: pytest.FixtureRequest) -> None:
    """All three example models in one target process (one QEMU boot) vs TensorFlow Lite Micro."""
    if target.startswith("qemu"):
        request.getfixturevalue("qemu_boards")
    jobs, oracle_jobs = [], []
    for name in EXAMPLES:
        tflite = (trained[name] / f"{name}.tflite").read_bytes()
        p = edge_params(tflite)
        x = np.load(trained[name] / "test_inputs.npy")
        rng = np.random.default_rng(7)
        x = np.concatenate([x, rng.integers(-128, 128, size=(4, *p.input_shape), dtype=np.int8)])
        jobs.append(Job(convert(tflite).blob, x, p.output_dtype, p.output_shape))
        oracle_jobs.append((tflite, x))
    ours = run_jobs(target, jobs)
    expected = run_oracle(oracle_jobs)
    for name, o, e in zip(EXAMPLES, ours, expected):
        assert isinstance(o, np.ndarray), f"{name} on {target}: {o}"
        assert isinstance(e, np.ndarray), f"{name}: TensorFlow Lite Micro: {e}"
        np.testing.assert_array_equal(o, e.reshape(o.shape), err_msg=f"{name} on {target}")


@pytest.mark.parametrize("name", EXAMPLES)
def test_main_py_runs_on_unix(trained: dict[str, Path], name: str, tmp_path: Path) -> None:
    """The board-side script, with the converted model (and anomaly.json) next to it."""
    tflite = (trained[name] / f"{name}.tflite").read_bytes()
    (tmp_path / f"{name}.uml").write_bytes(convert(tflite).blob)
    if name == "anomaly":
        shutil.copy(trained[name] / "anomaly.json", tmp_path)
    env = dict(os.environ, MICROPYPATH=f"{DEVICE_PACKAGE.parent}:{NATMOD_DIR}")
    proc = subprocess.run([str(UNIX_MICROPYTHON), str(ROOT / "examples" / name / "main.py")], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith(f"model {name}.uml: input int8"), proc.stdout
    assert re.match(SUMMARY[name], lines[-1]), proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_main_py_runs_on_qemu_m0(trained: dict[str, Path], qemu_boards: None) -> None:
    """The README's board workflow for each example on the RP2040 stand-in: `ulab-ml deploy` the
    trained model onto a qemu-m0 board (littlefs, UART on a pty), copy anomaly.json, then
    `mpremote run examples/<name>/main.py`; each prints its model line and its verdict. The
    native module must be the one that ran (backend line), not the pure-Python fallback."""
    pytest.importorskip("mpremote", reason="mpremote not installed (requirements.txt)")
    from ulab_ml_host.board import running_board

    mpremote = [str(PYTHON), "-m", "mpremote"]
    with running_board("qemu-m0") as rb:
        for name in EXAMPLES:
            d = trained[name]
            dep = subprocess.run([str(PYTHON), "-m", "ulab_ml_host.cli", "deploy", str(d / f"{name}.tflite"),
                                  "--port", rb.port], capture_output=True, text=True, timeout=300)
            assert dep.returncode == 0, dep.stderr + dep.stdout
            assert "native arch armv6m" in dep.stdout, dep.stdout
            if name == "anomaly":
                cp = subprocess.run([*mpremote, "connect", rb.port, "cp", str(d / "anomaly.json"), ":"],
                                    capture_output=True, text=True, timeout=120)
                assert cp.returncode == 0, cp.stderr + cp.stdout
            proc = subprocess.run([*mpremote, "connect", rb.port, "run", str(ROOT / "examples" / name / "main.py")],
                                  capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, proc.stderr + proc.stdout
            out = proc.stdout.replace("\r\n", "\n")
            lines = out.strip().splitlines()
            assert "Traceback" not in out, out
            assert lines[0].startswith(f"model {name}.uml: input int8"), out
            assert "native-armv6m" in out, out
            assert re.match(SUMMARY[name], lines[-1]), out
