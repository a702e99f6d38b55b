"""ulab-ml quantize: TensorFlow post-training full-integer quantization of a Keras model.

    ulab-ml quantize MODEL.keras --calib X.npy -o OUT.tflite [--val X.npy Y.npy] [--float-io]

The model (a Keras `.keras`/`.h5` file, a SavedModel directory, or, from Python, a Keras model
object) is traced with a fixed batch of 1 (what the board runs, and what keeps Keras' dynamic
batch handling - SHAPE / STRIDED_SLICE / PACK around Flatten - out of the graph) and converted
by `tf.lite.TFLiteConverter` with the calibration set as its representative dataset: int8
weights (per channel), int8 activations, int8 input and output (or float32 input and output,
with QUANTIZE / DEQUANTIZE at the edges, with `float_io`).

With a labelled validation set the float model (TensorFlow) and the int8 model (TensorFlow Lite
Micro, the interpreter the board is bit-exact with) are evaluated side by side: accuracy for
integer labels, MSE and MAE for float targets.

TensorFlow is an optional extra (`pip install 'ulab-ml-host[quantize]'`, pinned in
requirements-quantize.txt); it is imported only here, and only when a function needs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from tqdm import tqdm

TF_HINT = ("TensorFlow is not installed (only `ulab-ml quantize` needs it): pip install 'ulab-ml-host[quantize]' "
           "(in a clone of ulab_ml: .venv/bin/pip install -r requirements-quantize.txt)")

INT8_MIN, INT8_MAX = -128, 127
FLOAT_BATCH = 256          # samples per float-model call during evaluation


class QuantizeError(Exception):
    """The model, the data or the conversion is not usable; the message says why."""


class TensorFlowMissing(QuantizeError):
    """TensorFlow cannot be imported."""

    def __init__(self) -> None:
        super().__init__(TF_HINT)


# ---------------------------------------------------------------------------------------
# Progress: never silent for more than a moment
# ---------------------------------------------------------------------------------------

class Busy:
    """A tqdm line showing the elapsed time of a step with no natural progress count
    (importing TensorFlow, loading, converting), refreshed from a thread."""

    def __init__(self, desc: str, file: TextIO | None = None, enabled: bool = True) -> None:
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not enabled:
            return
        self._bar = tqdm(desc=desc, bar_format="{desc}: {elapsed}", file=file or sys.stderr, leave=True)
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._bar.close()
        self._bar = None

    def __enter__(self) -> Busy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _native_output_captured() -> Iterator[TextIO]:
    """Send file descriptors 1 and 2 (TensorFlow's C++ logging, Keras' export messages) to a
    temporary file for the duration; yields a stream on the original stderr for progress bars.
    If the body raises, the captured log is appended to the exception's message."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    progress = os.fdopen(os.dup(saved_err), "w", buffering=1)
    log = tempfile.TemporaryFile()
    try:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        with contextlib.redirect_stdout(io.StringIO()) as pyout, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                yield progress
            except QuantizeError:
                raise
            except Exception as exc:
                sys.stdout.flush()
                sys.stderr.flush()
                log.seek(0)
                text = (pyout.getvalue() + log.read().decode("utf-8", "replace")).strip()
                lines = [ln for ln in text.splitlines() if ln.strip()][-12:]
                detail = ("\n  " + "\n  ".join(lines)) if lines else ""
                raise QuantizeError(f"TensorFlow conversion failed: {type(exc).__name__}: {exc}{detail}") from exc
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        progress.close()
        log.close()


def import_tensorflow(progress: bool = True) -> Any:
    """Import TensorFlow quietly (its C++ start-up logging off), with a progress line."""
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    try:  # say so at once, before a progress line, when it is not there at all
        found = importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise TensorFlowMissing()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _native_output_captured() as console, Busy("loading TensorFlow", file=console, enabled=progress):
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise TensorFlowMissing() from exc
    return tf


# ---------------------------------------------------------------------------------------
# Loading the float model
# ---------------------------------------------------------------------------------------

@dataclass
class FloatModel:
    """A float model, whatever it was loaded from."""

    name: str
    input_shape: tuple[int | None, ...]     # without the batch dimension
    input_dtype: str
    fixed_batch: int | None                  # the model's own batch size, if it fixes one
    call: Callable[[Any], Any]               # TF tensor (batch, ...) -> TF tensor
    trace: Callable[[Any], tuple[Any, Any]]  # TensorSpec -> (concrete function, what tracks its variables)

    def predict(self, x: np.ndarray, progress: bool = True, desc: str = "float model") -> np.ndarray:
        """Float outputs for x (N, *input_shape), in batches, with a progress bar."""
        tf = import_tensorflow(progress)
        batch = self.fixed_batch or FLOAT_BATCH
        outs = []
        with tqdm(total=len(x), desc=desc, unit="sample", disable=not progress) as bar:
            for s in range(0, len(x), batch):
                xb = np.asarray(x[s:s + batch], dtype=self.input_dtype)
                n = len(xb)
                if self.fixed_batch and n < self.fixed_batch:   # pad the last batch
                    xb = np.concatenate([xb, np.repeat(xb[-1:], self.fixed_batch - n, axis=0)])
                y = np.asarray(_single_output(self.call(tf.constant(xb))))
                outs.append(y[:n])
                bar.update(n)
        return np.concatenate(outs).astype(np.float32)


def _single_output(y: Any) -> Any:
    if isinstance(y, dict):
        if len(y) != 1:
            raise QuantizeError(f"the model has {len(y)} outputs ({', '.join(y)}); ulab_ml models have one")
        return next(iter(y.values()))
    if isinstance(y, (list, tuple)):
        if len(y) != 1:
            raise QuantizeError(f"the model has {len(y)} outputs; ulab_ml models have one")
        return y[0]
    return y


def _shape_tuple(shape: Any) -> tuple[int | None, ...]:
    return tuple(None if d is None else int(d) for d in shape)


def load_float_model(model: str | Path | Any, progress: bool = True) -> FloatModel:
    """A Keras model object, a `.keras` / `.h5` file or a SavedModel directory."""
    tf = import_tensorflow(progress)
    if not isinstance(model, (str, Path)):
        return _from_keras(model, getattr(model, "name", "model"))
    path = Path(model)
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise QuantizeError(f"{path} is a directory without saved_model.pb (not a SavedModel)")
        with _native_output_captured() as console, Busy(f"loading {path.name}", file=console, enabled=progress):
            try:
                loaded = tf.saved_model.load(str(path))
            except Exception as exc:
                raise QuantizeError(f"cannot load SavedModel {path}: {exc}") from exc
        return _from_saved_model(loaded, path.name)
    if not path.is_file():
        raise QuantizeError(f"{path}: no such file or directory")
    if path.suffix == ".tflite":
        raise QuantizeError(f"{path} is already a TFLite model; quantize takes the float Keras model "
                            "(.keras) or SavedModel directory it came from")
    if path.suffix not in (".keras", ".h5", ".hdf5"):
        raise QuantizeError(f"{path}: expected a .keras (or .h5) file or a SavedModel directory")
    import keras

    with _native_output_captured() as console, Busy(f"loading {path.name}", file=console, enabled=progress):
        try:
            km = keras.models.load_model(str(path), compile=False)
        except Exception as exc:
            raise QuantizeError(f"cannot load Keras model {path}: {type(exc).__name__}: {exc}") from exc
    return _from_keras(km, path.stem)


def _from_keras(km: Any, name: str) -> FloatModel:
    inputs = getattr(km, "inputs", None)
    if not inputs:
        raise QuantizeError("the Keras model has no defined input (build it with keras.Input(shape=...))")
    if len(inputs) != 1:
        raise QuantizeError(f"the model has {len(inputs)} inputs; ulab_ml models have one")
    shape = _shape_tuple(inputs[0].shape)
    dtype = str(getattr(inputs[0], "dtype", "float32"))
    dtype = dtype.removeprefix("<dtype: '").removesuffix("'>")

    def call(x: Any) -> Any:
        return km(x, training=False)

    def trace(spec: Any) -> tuple[Any, Any]:
        # Keras 3 variables are only frozen into the graph when an ExportArchive tracks them
        # (a plain tf.function over the model leaves READ_VARIABLE ops that cannot calibrate).
        import keras

        archive = keras.export.ExportArchive()
        archive.track(km)
        fn = archive.add_endpoint("serve", call, input_signature=[spec])
        return fn.get_concrete_function(), archive

    return FloatModel(name, shape[1:], dtype, shape[0], call, trace)


def _from_saved_model(loaded: Any, name: str) -> FloatModel:
    sigs = getattr(loaded, "signatures", {})
    if "serving_default" not in sigs:
        raise QuantizeError(f"SavedModel {name} has no serving_default signature "
                            f"(signatures: {', '.join(sigs) or 'none'})")
    sig = sigs["serving_default"]
    _, kwargs = sig.structured_input_signature
    if len(kwargs) != 1:
        raise QuantizeError(f"the model has {len(kwargs)} inputs; ulab_ml models have one")
    (arg, spec), = kwargs.items()
    shape = _shape_tuple(spec.shape)

    def call(x: Any) -> Any:
        return _single_output(sig(**{arg: x}))

    def trace(spec: Any) -> tuple[Any, Any]:
        import tensorflow as tf

        return tf.function(call, input_signature=[spec]).get_concrete_function(), loaded

    return FloatModel(name, shape[1:], spec.dtype.name, shape[0], call, trace)


# ---------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------

def _check_data(fm: FloatModel, x: np.ndarray, what: str) -> np.ndarray:
    want = fm.input_shape
    if x.ndim != len(want) + 1 or any(w is not None and w != d for w, d in zip(want, x.shape[1:])):
        shown = ", ".join("?" if d is None else str(d) for d in want)
        raise QuantizeError(f"{what} has shape {list(x.shape)}; the model needs (N, {shown})")
    if len(x) == 0:
        raise QuantizeError(f"{what} is empty")
    if x.dtype.kind not in "fiu":
        raise QuantizeError(f"{what} has dtype {x.dtype}; expected numbers")
    return x.astype(fm.input_dtype, copy=False)


def quantize_model(model: str | Path | Any, calib: np.ndarray, float_io: bool = False,
                   progress: bool = True) -> bytes:
    """Full-integer post-training quantization; returns the .tflite bytes.

    calib: float (N, *input_shape), a few hundred representative inputs."""
    tf = import_tensorflow(progress)
    fm = model if isinstance(model, FloatModel) else load_float_model(model, progress)
    calib = _check_data(fm, np.asarray(calib), "the calibration set")
    # A fixed batch of 1: what the board runs, and no dynamic-batch SHAPE / STRIDED_SLICE / PACK ops.
    spec = tf.TensorSpec((1, *calib.shape[1:]), fm.input_dtype, name="input")
    with _native_output_captured() as console:
        with Busy("tracing the model", file=console, enabled=progress):
            concrete, trackable = fm.trace(spec)
        # The converter first builds the float graph, then pulls the calibration set, then quantizes.
        state = {"busy": Busy("converting to TFLite", file=console, enabled=progress)}

        def representative() -> Iterator[list[np.ndarray]]:
            state["busy"].close()
            for x in tqdm(calib, desc="calibrating", unit="sample", file=console, disable=not progress):
                yield [x[None]]
            state["busy"] = Busy("quantizing", file=console, enabled=progress)

        conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], trackable)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not float_io:
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
        try:
            tflite = conv.convert()
        finally:
            state["busy"].close()
    return bytes(tflite)


# ---------------------------------------------------------------------------------------
# Evaluation: the float model vs the int8 model on TensorFlow Lite Micro
# ---------------------------------------------------------------------------------------

# Runs in a child process (TFLM can abort the process on a model it rejects). Prints the count
# done every few inferences, for the progress bar.
TFLM_WORKER = r"""
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
model = open(sys.argv[1], "rb").read()
x = np.load(sys.argv[2])
it = runtime.Interpreter.from_bytes(model, arena_size=8 << 20)
out = []
for i in range(len(x)):
    it.set_input(np.ascontiguousarray(x[i]), 0)
    it.invoke()
    out.append(np.array(it.get_output(0)).copy())
    if i % 32 == 31 or i == len(x) - 1:
        print(i + 1, flush=True)
np.save(sys.argv[3], np.stack(out))
"""


@dataclass
class EdgeParams:
    """The .tflite model's input and output: shape (with batch), dtype, quantization."""

    input_shape: tuple[int, ...]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: tuple[int, ...]
    output_dtype: str
    output_scale: float
    output_zero_point: int


def edge_params(tflite: bytes) -> EdgeParams:
    from .tflite_reader import read_tflite

    g = read_tflite(tflite)
    i, o = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    return EdgeParams(i.shape, i.dtype, i.scale, i.zero_point, o.shape, o.dtype, o.scale, o.zero_point)


def quantize_values(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 as the board does it (ulab_ml.quantize): round half away from zero, clamp."""
    v = np.asarray(x, dtype=np.float64) / scale
    q = np.sign(v) * np.floor(np.abs(v) + 0.5) + zero_point
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


def run_tflm(tflite: bytes, x: np.ndarray, progress: bool = True, desc: str = "int8 model (TFLM)") -> np.ndarray:
    """Raw outputs of the .tflite model on TensorFlow Lite Micro for inputs x (N, *input shape
    with batch) in the model's input dtype: (N, *output shape with batch)."""
    with tempfile.TemporaryDirectory(prefix="ulab_ml_quantize_") as tmp:
        d = Path(tmp)
        (d / "m.tflite").write_bytes(tflite)
        np.save(d / "x.npy", x)
        with tqdm(total=len(x), desc=desc, unit="sample", disable=not progress) as bar, \
                open(d / "err.txt", "w+") as err:
            proc = subprocess.Popen([sys.executable, "-c", TFLM_WORKER, str(d / "m.tflite"), str(d / "x.npy"),
                                     str(d / "y.npy")], stdout=subprocess.PIPE, stderr=err, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip().isdigit():
                    bar.update(int(line) - bar.n)
            code = proc.wait()
            if code != 0:
                err.seek(0)
                tail = err.read().strip()[-600:]
                raise QuantizeError(f"TensorFlow Lite Micro could not run the model (exit {code}): {tail}")
        return np.load(d / "y.npy")


def int8_predict(tflite: bytes, x: np.ndarray, progress: bool = True) -> np.ndarray:
    """Float outputs of the .tflite model on TensorFlow Lite Micro for float inputs x
    (N, *input_shape without batch): inputs quantized and outputs dequantized with the
    model's own parameters, exactly as a board running ulab_ml computes them."""
    p = edge_params(tflite)
    x = np.asarray(x).reshape((len(x), *p.input_shape))
    xin = quantize_values(x, p.input_scale, p.input_zero_point) if p.input_dtype == "int8" \
        else x.astype(p.input_dtype)
    y = run_tflm(tflite, xin, progress)
    y = y.reshape((len(x), *p.output_shape[1:]))
    if p.output_dtype == "int8":
        return ((y.astype(np.float32) - p.output_zero_point) * np.float32(p.output_scale)).astype(np.float32)
    return y.astype(np.float32)


@dataclass
class Evaluation:
    n: int
    kind: str                                     # "classification" or "regression"
    metrics: dict[str, tuple[float, float]]       # name -> (float model, int8 model)
    agreement: float | None = None                # classification: int8 predictions equal to float
    classes: int | None = None

    def table(self) -> str:
        what = f"{self.classes} classes" if self.kind == "classification" else "regression"
        lines = [f"validation: {self.n} samples, {what}",
                 f"  {'':<10} {'float32':>12} {'int8 (TFLite Micro)':>21}"]
        for name, (f, q) in self.metrics.items():
            if name == "accuracy":
                lines.append(f"  {name:<10} {f * 100:>10.2f} % {q * 100:>19.2f} %")
            else:
                lines.append(f"  {name:<10} {f:>12.6g} {q:>21.6g}")
        if self.agreement is not None:
            lines.append(f"  int8 predictions equal to the float model's: {self.agreement * 100:.2f} %")
        return "\n".join(lines)


def compare(y_float: np.ndarray, y_int8: np.ndarray, y_true: np.ndarray) -> Evaluation:
    """Accuracy for integer labels (argmax, or > 0.5 for a single output), MSE / MAE otherwise."""
    n = len(y_true)
    f = y_float.reshape(n, -1)
    q = y_int8.reshape(n, -1)
    if y_true.dtype.kind in "iub":
        labels = y_true.reshape(-1)
        if len(labels) != n:
            raise QuantizeError(f"validation labels have shape {list(y_true.shape)}; expected ({n},) class indices")
        if f.shape[1] == 1:
            pf, pq = (f[:, 0] > 0.5).astype(int), (q[:, 0] > 0.5).astype(int)
            classes = 2
        else:
            pf, pq = f.argmax(axis=1), q.argmax(axis=1)
            classes = f.shape[1]
        return Evaluation(n, "classification",
                          {"accuracy": (float((pf == labels).mean()), float((pq == labels).mean()))},
                          float((pf == pq).mean()), classes)
    t = y_true.reshape(n, -1).astype(np.float64)
    if t.shape[1] != f.shape[1]:
        raise QuantizeError(f"validation targets have {t.shape[1]} values per sample; the model outputs {f.shape[1]}")
    return Evaluation(n, "regression", {
        "MSE": (float(((f - t) ** 2).mean()), float(((q - t) ** 2).mean())),
        "MAE": (float(np.abs(f - t).mean()), float(np.abs(q - t).mean())),
    })


def evaluate(model: FloatModel, tflite: bytes, x: np.ndarray, y: np.ndarray, progress: bool = True) -> Evaluation:
    x = _check_data(model, np.asarray(x), "the validation inputs")
    y = np.asarray(y)
    if len(y) != len(x):
        raise QuantizeError(f"validation inputs and targets differ in length ({len(x)} vs {len(y)})")
    yf = model.predict(x, progress)
    yq = int8_predict(tflite, x, progress)
    return compare(yf, yq, y)


# ---------------------------------------------------------------------------------------
# The whole command
# ---------------------------------------------------------------------------------------

@dataclass
class QuantizeResult:
    tflite: bytes
    evaluation: Evaluation | None
    convertible: str | None      # None if ulab_ml converts it, else why not


def quantize_to_file(model: str | Path | Any, calib: np.ndarray, output: str | Path,
                     val: tuple[np.ndarray, np.ndarray] | None = None, float_io: bool = False,
                     progress: bool = True, out: TextIO | None = None) -> QuantizeResult:
    """What `ulab-ml quantize` does: quantize, write OUT.tflite, say whether ulab_ml can convert
    it, and with val=(x, y) print the float vs int8 comparison. Reports go to `out` (stdout)."""
    from .convert import convert
    from .lowering import UnsupportedModel
    from .tflite_reader import TFLiteReadError

    out = out or sys.stdout
    fm = model if isinstance(model, FloatModel) else load_float_model(model, progress)
    tflite = quantize_model(fm, calib, float_io, progress)
    output = Path(output)
    try:
        output.write_bytes(tflite)
    except OSError as exc:
        raise QuantizeError(f"cannot write {output}: {exc.strerror}") from exc
    p = edge_params(tflite)
    print(f"{output}: {len(tflite)} bytes, input {p.input_dtype} {list(p.input_shape)}, "
          f"output {p.output_dtype} {list(p.output_shape)}", file=out)
    problem: str | None = None
    try:
        conv = convert(tflite)
        print(f"ulab_ml can run it: {len(conv.model.ops)} ops, arena {conv.plan.arena_size} bytes, "
              f"blob {len(conv.blob)} bytes (ulab-ml convert {output.name})", file=out)
    except (UnsupportedModel, TFLiteReadError) as exc:
        problem = str(exc)
        print(f"WARNING: ulab_ml cannot convert this model: {problem}", file=out)
    ev = None
    if val is not None:
        ev = evaluate(fm, tflite, val[0], val[1], progress)
        print(ev.table(), file=out)
    out.flush()
    return QuantizeResult(tflite, ev, problem)
