"""`ulab-ml quantize`: a tiny Keras model (built here) quantized with TensorFlow, with and without
--float-io, from a .keras file and from a SavedModel directory; the .tflite converts and runs on the
MicroPython unix port bit for bit like TensorFlow Lite Micro; --val prints float vs int8 accuracy;
without TensorFlow the command exits non-zero with a one-line install hint."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.quantize import TF_HINT, compare, edge_params, quantize_values
from ulab_ml_host.targets import Job, run_jobs

PYTHON = ROOT / ".venv" / "bin" / "python"
ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"
HAVE_TF = importlib.util.find_spec("tensorflow") is not None
needs_tf = pytest.mark.skipif(not HAVE_TF, reason="TensorFlow not installed (scripts/setup.sh installs "
                                                  "requirements-quantize.txt)")

# Builds and briefly trains a tiny Conv1D classifier; writes m.keras, a SavedModel in sm/,
# calib.npy, val_x.npy, val_y.npy into argv[1].
BUILD = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import keras
out = sys.argv[1]
keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)
x = rng.normal(size=(600, 24, 2)).astype(np.float32)
y = (x[:, :12, 0].mean(1) > 0).astype(np.int32) + 2 * (x[:, :, 1].mean(1) > 0.1)
m = keras.Sequential([keras.Input((24, 2)), keras.layers.Conv1D(6, 3, activation="relu"),
                      keras.layers.Flatten(), keras.layers.Dense(4), keras.layers.Softmax()])
m.compile("adam", "sparse_categorical_crossentropy")
m.fit(x[:400], y[:400], epochs=8, batch_size=32, verbose=0)
m.save(os.path.join(out, "m.keras"))
m.export(os.path.join(out, "sm"), verbose=False)
np.save(os.path.join(out, "calib.npy"), x[:100])
np.save(os.path.join(out, "val_x.npy"), x[400:])
np.save(os.path.join(out, "val_y.npy"), y[400:])
"""


@pytest.fixture(scope="module")
def keras_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_TF:
        pytest.skip("TensorFlow not installed")
    d = tmp_path_factory.mktemp("quantize")
    proc = subprocess.run([str(PYTHON), "-c", BUILD, str(d)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return d


def quantize_cli(d: Path, model: str, out: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ULAB_ML), "quantize", str(d / model), "--calib", str(d / "calib.npy"),
                           "-o", str(d / out), *extra], capture_output=True, text=True, timeout=300)


def check_bit_exact_on_unix(tflite: bytes, seed: int) -> None:
    conv = convert(tflite)     # raises UnsupportedModel naming ops if ulab_ml cannot run it
    p = edge_params(tflite)
    rng = np.random.default_rng(seed)
    if p.input_dtype == "int8":
        x = rng.integers(-128, 128, size=(12, *p.input_shape), dtype=np.int8)
    else:
        x = rng.normal(0.0, 1.5, size=(12, *p.input_shape)).astype(np.float32)
    (ours,) = run_jobs("unix", [Job(conv.blob, x, p.output_dtype, p.output_shape)])
    (expected,) = run_oracle([(tflite, x)])
    assert isinstance(ours, np.ndarray), ours
    assert isinstance(expected, np.ndarray), expected
    np.testing.assert_array_equal(ours, expected.reshape(ours.shape))


@needs_tf
def test_quantize_int8_io_with_val(keras_dir: Path) -> None:
    proc = quantize_cli(keras_dir, "m.keras", "m.tflite", "--val", str(keras_dir / "val_x.npy"),
                        str(keras_dir / "val_y.npy"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    tflite = (keras_dir / "m.tflite").read_bytes()
    p = edge_params(tflite)
    assert (p.input_dtype, p.output_dtype) == ("int8", "int8")
    assert p.input_shape == (1, 24, 2) and p.output_shape == (1, 4)
    assert "ulab_ml can run it" in proc.stdout
    # float vs int8 side by side
    assert re.search(r"float32\s+int8 \(TFLite Micro\)", proc.stdout), proc.stdout
    m = re.search(r"accuracy\s+([\d.]+) %\s+([\d.]+) %", proc.stdout)
    assert m, proc.stdout
    acc_float, acc_int8 = float(m.group(1)), float(m.group(2))
    assert acc_float > 40 and abs(acc_float - acc_int8) < 10, proc.stdout
    # progress bars on calibration and evaluation (stderr)
    for bar in ("calibrating", "float model", "int8 model (TFLM)"):
        assert bar in proc.stderr
    check_bit_exact_on_unix(tflite, 1)


@needs_tf
def test_quantize_float_io(keras_dir: Path) -> None:
    proc = quantize_cli(keras_dir, "m.keras", "mf.tflite", "--float-io", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr == "", proc.stderr          # --quiet: no progress bars, no TensorFlow chatter
    tflite = (keras_dir / "mf.tflite").read_bytes()
    p = edge_params(tflite)
    assert (p.input_dtype, p.output_dtype) == ("float32", "float32")
    names = [op.opcode for op in convert(tflite).model.ops]
    assert names[0] == "QUANTIZE" and names[-1] == "DEQUANTIZE", names
    check_bit_exact_on_unix(tflite, 2)


@needs_tf
def test_quantize_saved_model_dir(keras_dir: Path) -> None:
    proc = quantize_cli(keras_dir, "sm", "sm.tflite", "--quiet")
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = (keras_dir / "sm.tflite").read_bytes()
    p = edge_params(a)
    assert (p.input_dtype, p.input_shape, p.output_shape) == ("int8", (1, 24, 2), (1, 4))
    check_bit_exact_on_unix(a, 3)


@needs_tf
def test_quantize_rejects_wrong_calibration_shape(keras_dir: Path) -> None:
    np.save(keras_dir / "bad.npy", np.zeros((10, 23, 2), np.float32))
    proc = subprocess.run([str(ULAB_ML), "quantize", str(keras_dir / "m.keras"), "--calib",
                           str(keras_dir / "bad.npy"), "-o", str(keras_dir / "bad.tflite"), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "has shape [10, 23, 2]; the model needs (N, 24, 2)" in proc.stderr
    assert not (keras_dir / "bad.tflite").exists()


# TensorFlow hidden: a meta-path finder refuses to import it, as if it were not installed.
HIDE_TF = r"""
import sys
class HideTF:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow.") or name == "keras":
            raise ModuleNotFoundError("No module named %r" % name)
        return None
sys.meta_path.insert(0, HideTF())
from ulab_ml_host.cli import main
sys.argv[0] = "ulab-ml"
sys.exit(main())
"""


def test_missing_tensorflow_gives_one_line_hint(tmp_path: Path) -> None:
    np.save(tmp_path / "calib.npy", np.zeros((4, 8), np.float32))
    (tmp_path / "m.keras").write_bytes(b"not read")
    proc = subprocess.run([str(PYTHON), "-c", HIDE_TF, "quantize", str(tmp_path / "m.keras"), "--calib",
                           str(tmp_path / "calib.npy"), "-o", str(tmp_path / "m.tflite")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip() == f"ulab-ml: error: {TF_HINT}", proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "requirements-quantize.txt" in proc.stderr and "ulab-ml-host[quantize]" in proc.stderr
    assert not (tmp_path / "m.tflite").exists()


def test_other_commands_do_not_import_tensorflow() -> None:
    code = "import sys; import ulab_ml_host.cli, ulab_ml_host.quantize; print('tensorflow' in sys.modules)"
    proc = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "False", proc.stdout + proc.stderr


def test_compare_classification_and_regression() -> None:
    y = np.array([0, 1, 2, 1])
    f = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    q = np.array([[0.8, 0.2, 0.0], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [0.2, 0.7, 0.1]])
    ev = compare(f, q, y)
    assert ev.kind == "classification" and ev.classes == 3
    assert ev.metrics["accuracy"] == (0.75, 0.75) and ev.agreement == 0.5
    assert "accuracy" in ev.table() and "75.00 %" in ev.table()
    binary = compare(np.array([[0.9], [0.2]]), np.array([[0.6], [0.6]]), np.array([1, 0]))
    assert binary.metrics["accuracy"] == (1.0, 0.5)
    t = np.array([[1.0, 2.0], [0.0, 0.0]], np.float32)
    reg = compare(t + 0.5, t - 1.0, t)
    assert reg.kind == "regression"
    assert reg.metrics["MSE"] == (0.25, 1.0) and reg.metrics["MAE"] == (0.5, 1.0)
    assert "MSE" in reg.table() and "MAE" in reg.table()


def test_quantize_values_rounds_like_the_board() -> None:
    # ulab_ml.quantize: round half away from zero, then clamp to int8
    got = quantize_values(np.array([0.5, -0.5, 1.5, -1.5, 1000.0, -1000.0, 0.24]), 1.0, 0)
    assert got.tolist() == [1, -1, 2, -2, 127, -128, 0]
    assert quantize_values(np.array([0.1]), 0.1, -3).tolist() == [-2]
