"""Train, quantize and export the bundled waveform classifier demo model.

    .venv/bin/python examples/waveform/train.py

Generates a seeded dataset of 32-sample windows of four waveform classes (sine, square,
triangle, sawtooth), trains a float MLP 32 -> 24 ReLU -> 16 ReLU -> 4 in plain numpy (Adam,
softmax cross-entropy), quantizes it to full int8 the way TFLite's post-training quantizer
does, and writes next to this file:

    waveform.tflite     FULLY_CONNECTED x3 + SOFTMAX, int8 input and output
    test_inputs.npy     int8 (16, 1, 32): quantized held-out windows
    test_labels.npy     int32 (16,): their class indices

It then runs the .tflite on TensorFlow Lite Micro and reports float and int8 accuracy on a
held-out set. Needs only numpy, flatbuffers, tflite-micro and ulab_ml_host (no TensorFlow).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import flatbuffers
import numpy as np

from ulab_ml_host.schema import schema

HERE = Path(__file__).resolve().parent
CLASSES = ("sine", "square", "triangle", "sawtooth")
WINDOW = 32
HIDDEN = (24, 16)
SEED = 20240611

N_TRAIN = 12000
N_HELDOUT = 4000
N_TEST_FILE = 16            # windows written to test_inputs.npy (4 per class)
EPOCHS = 100
BATCH = 64
LR = 3e-3

INT8_MIN, INT8_MAX = -128, 127


# ---------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------

def waveform(kind: int, phase_cycles: np.ndarray) -> np.ndarray:
    """Unit-amplitude waveform of class `kind` at phase (in cycles) `phase_cycles`."""
    frac = phase_cycles - np.floor(phase_cycles)
    if kind == 0:   # sine
        return np.sin(2.0 * np.pi * frac)
    if kind == 1:   # square
        return np.where(frac < 0.5, 1.0, -1.0)
    if kind == 2:   # triangle, in phase with the sine: 0 -> 1 -> 0 -> -1 -> 0
        return 1.0 - 4.0 * np.abs(((frac + 0.25) % 1.0) - 0.5)
    return 2.0 * frac - 1.0  # sawtooth


def make_dataset(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n windows (n, WINDOW) float32 with random frequency, phase, amplitude, offset and
    noise, and their labels (n,) int32, classes balanced and shuffled."""
    labels = np.arange(n, dtype=np.int32) % len(CLASSES)
    rng.shuffle(labels)
    cycles = rng.uniform(0.8, 4.0, size=n)          # cycles per window (8..40 samples/period)
    phase = rng.uniform(0.0, 1.0, size=n)
    amp = rng.uniform(0.5, 1.5, size=n)
    offset = rng.uniform(-0.5, 0.5, size=n)
    noise = rng.uniform(0.0, 0.05, size=n)     # noise std, per window
    t = np.arange(WINDOW) / WINDOW
    x = np.empty((n, WINDOW))
    for i in range(n):
        p = phase[i] + cycles[i] * t
        x[i] = amp[i] * waveform(int(labels[i]), p) + offset[i]
    x += rng.normal(0.0, 1.0, size=x.shape) * noise[:, None]
    return x.astype(np.float32), labels


# ---------------------------------------------------------------------------------------
# Float MLP in numpy
# ---------------------------------------------------------------------------------------

@dataclass
class Layer:
    w: np.ndarray   # (out, in), TFLite FULLY_CONNECTED weight layout
    b: np.ndarray   # (out,)


def init_mlp(rng: np.random.Generator, sizes: list[int]) -> list[Layer]:
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))   # He init
        layers.append(Layer(w, np.zeros(n_out)))
    return layers


def forward(layers: list[Layer], x: np.ndarray) -> list[np.ndarray]:
    """Activations [x, h1, h2, logits]; ReLU after every layer but the last."""
    acts = [x]
    for k, layer in enumerate(layers):
        z = acts[-1] @ layer.w.T + layer.b
        acts.append(np.maximum(z, 0.0) if k < len(layers) - 1 else z)
    return acts


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def train(layers: list[Layer], x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
    """Mini-batch Adam on softmax cross-entropy."""
    params = [p for layer in layers for p in (layer.w, layer.b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step = 0
    n = len(x)
    for epoch in range(EPOCHS):
        lr = LR * 0.5 * (1.0 + np.cos(np.pi * epoch / EPOCHS))   # cosine decay
        order = rng.permutation(n)
        total = 0.0
        for s in range(0, n, BATCH):
            idx = order[s:s + BATCH]
            acts = forward(layers, x[idx])
            p = softmax(acts[-1])
            total += -np.log(p[np.arange(len(idx)), y[idx]] + 1e-12).sum()
            d = p
            d[np.arange(len(idx)), y[idx]] -= 1.0
            d /= len(idx)
            grads: list[np.ndarray] = []
            for k in range(len(layers) - 1, -1, -1):
                gw = d.T @ acts[k]
                gb = d.sum(axis=0)
                grads = [gw, gb] + grads
                if k > 0:
                    d = (d @ layers[k].w) * (acts[k] > 0)
            step += 1
            for i, (prm, g) in enumerate(zip(params, grads)):
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                mh = m[i] / (1 - beta1 ** step)
                vh = v[i] / (1 - beta2 ** step)
                prm -= lr * mh / (np.sqrt(vh) + eps)
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            print(f"  epoch {epoch + 1:3d}  loss {total / n:.4f}")


# ---------------------------------------------------------------------------------------
# Post-training int8 quantization (as TFLite's quantizer does it)
# ---------------------------------------------------------------------------------------

def round_half_away(v: np.ndarray) -> np.ndarray:
    """std::round: halves away from zero (np.round rounds halves to even)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def asymmetric_params(lo: float, hi: float) -> tuple[float, int]:
    """Per-tensor int8 scale and zero point for a calibrated range, like TFLite's
    GetAsymmetricQuantizationParams: the range is widened to include 0 and the zero point
    taken from whichever end gives the smaller error, then nudged to an integer."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == hi:
        return 1.0, 0
    scale = (hi - lo) / (INT8_MAX - INT8_MIN)
    zp_from_min = INT8_MIN - lo / scale
    zp_from_max = INT8_MAX - hi / scale
    err_min = abs(INT8_MIN) + abs(lo / scale)
    err_max = abs(INT8_MAX) + abs(hi / scale)
    zp = zp_from_min if err_min < err_max else zp_from_max
    if zp <= INT8_MIN:
        nudged = INT8_MIN
    elif zp >= INT8_MAX:
        nudged = INT8_MAX
    else:
        nudged = int(round_half_away(np.array(zp)))
    return float(np.float32(scale)), nudged


def quantize_weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8 weights in [-127, 127], zero point 0."""
    absmax = np.abs(w).max(axis=1)
    scales = np.where(absmax > 0, absmax / INT8_MAX, 1.0).astype(np.float32)
    q = np.clip(round_half_away(w / scales[:, None].astype(np.float64)), -INT8_MAX, INT8_MAX)
    return q.astype(np.int8), scales


def quantize_values(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    q = round_half_away(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


@dataclass
class QuantTensor:
    scale: float
    zero_point: int


@dataclass
class QuantLayer:
    w: np.ndarray          # int8 (out, in)
    w_scales: np.ndarray   # float32 (out,)
    b: np.ndarray          # int32 (out,)
    b_scales: np.ndarray   # float32 (out,)
    out: QuantTensor       # output activation quantization
    relu: bool


def quantize_mlp(layers: list[Layer], calib: np.ndarray) -> tuple[QuantTensor, list[QuantLayer]]:
    """Calibrate activation ranges with the float model on `calib`, then quantize."""
    acts = forward(layers, calib.astype(np.float64))
    qin = QuantTensor(*asymmetric_params(float(acts[0].min()), float(acts[0].max())))
    in_scale = qin.scale
    qlayers = []
    for k, layer in enumerate(layers):
        wq, w_scales = quantize_weights(layer.w)
        b_scales = (np.float32(in_scale) * w_scales).astype(np.float32)
        bq = round_half_away(layer.b / b_scales.astype(np.float64))
        bq = np.clip(bq, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
        out = QuantTensor(*asymmetric_params(float(acts[k + 1].min()), float(acts[k + 1].max())))
        qlayers.append(QuantLayer(wq, w_scales, bq, b_scales, out, relu=k < len(layers) - 1))
        in_scale = out.scale
    return qin, qlayers


# ---------------------------------------------------------------------------------------
# .tflite export (TFLite schema object API)
# ---------------------------------------------------------------------------------------

class TFLiteWriter:
    def __init__(self) -> None:
        self.tensors: list[schema.TensorT] = []
        self.buffers: list[schema.BufferT] = [schema.BufferT()]   # buffer 0: empty sentinel
        self.operators: list[schema.OperatorT] = []
        self.opcodes: list[int] = []

    def tensor(self, name: str, shape: tuple[int, ...], ttype: int,
               scales: list[float], zero_points: list[int],
               data: np.ndarray | None = None) -> int:
        t = schema.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.type = ttype
        q = schema.QuantizationParametersT()
        q.scale = [float(s) for s in scales]
        q.zeroPoint = [int(z) for z in zero_points]
        q.quantizedDimension = 0
        t.quantization = q
        t.buffer = 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes(),
                                   dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, code: int, inputs: list[int], outputs: list[int], options_type: int,
           options: object) -> None:
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = schema.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs = inputs
        o.outputs = outputs
        o.builtinOptionsType = options_type
        o.builtinOptions = options
        self.operators.append(o)

    def build(self, inputs: list[int], outputs: list[int], description: str) -> bytes:
        m = schema.ModelT()
        m.version = 3
        m.description = description
        codes = []
        for c in self.opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        sg = schema.SubGraphT()
        sg.name = "main"
        sg.tensors = self.tensors
        sg.inputs = inputs
        sg.outputs = outputs
        sg.operators = self.operators
        m.subgraphs = [sg]
        m.buffers = self.buffers
        b = flatbuffers.Builder(4096)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def export_tflite(qin: QuantTensor, qlayers: list[QuantLayer]) -> bytes:
    int8, int32 = schema.TensorType.INT8, schema.TensorType.INT32
    w = TFLiteWriter()
    x = w.tensor("input", (1, WINDOW), int8, [qin.scale], [qin.zero_point])
    for k, ql in enumerate(qlayers):
        n_out, n_in = ql.w.shape
        wt = w.tensor(f"fc{k}/w", (n_out, n_in), int8, list(ql.w_scales), [0] * n_out, ql.w)
        bt = w.tensor(f"fc{k}/b", (n_out,), int32, list(ql.b_scales), [0] * n_out, ql.b)
        y = w.tensor(f"fc{k}" if ql.relu else "logits", (1, n_out), int8,
                     [ql.out.scale], [ql.out.zero_point])
        opts = schema.FullyConnectedOptionsT()
        opts.fusedActivationFunction = (schema.ActivationFunctionType.RELU if ql.relu
                                        else schema.ActivationFunctionType.NONE)
        opts.keepNumDims = False
        w.op(schema.BuiltinOperator.FULLY_CONNECTED, [x, wt, bt], [y],
             schema.BuiltinOptions.FullyConnectedOptions, opts)
        x = y
    n_cls = qlayers[-1].w.shape[0]
    # TFLite's int8 softmax output quantization: scale 1/256, zero point -128.
    probs = w.tensor("probs", (1, n_cls), int8, [1.0 / 256.0], [-128])
    sopts = schema.SoftmaxOptionsT()
    sopts.beta = 1.0
    w.op(schema.BuiltinOperator.SOFTMAX, [x], [probs], schema.BuiltinOptions.SoftmaxOptions, sopts)
    return w.build([0], [probs], "waveform: " + ",".join(CLASSES))


# ---------------------------------------------------------------------------------------
# Check on TFLite Micro
# ---------------------------------------------------------------------------------------

def tflm_run(model: bytes, xq: np.ndarray) -> np.ndarray:
    """Run int8 inputs (N, 1, WINDOW) through TFLM; outputs (N, 1, n_classes) int8."""
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model)
    out = []
    for x in xq:
        it.set_input(np.ascontiguousarray(x), 0)
        it.invoke()
        out.append(np.array(it.get_output(0)).copy())
    return np.stack(out)


def balanced_subset(labels: np.ndarray, per_class: int) -> np.ndarray:
    idx = [np.flatnonzero(labels == c)[:per_class] for c in range(len(CLASSES))]
    return np.stack(idx, axis=1).reshape(-1)   # interleaved: sine, square, triangle, sawtooth, ...


def main() -> int:
    rng = np.random.default_rng(SEED)
    x_train, y_train = make_dataset(rng, N_TRAIN)
    x_held, y_held = make_dataset(rng, N_HELDOUT)

    print(f"training MLP {WINDOW} -> {' -> '.join(map(str, HIDDEN))} -> {len(CLASSES)} "
          f"on {N_TRAIN} windows")
    layers = init_mlp(rng, [WINDOW, *HIDDEN, len(CLASSES)])
    train(layers, x_train.astype(np.float64), y_train, rng)

    float_pred = forward(layers, x_held.astype(np.float64))[-1].argmax(axis=1)
    float_acc = float((float_pred == y_held).mean())

    qin, qlayers = quantize_mlp(layers, x_train)
    model = export_tflite(qin, qlayers)
    (HERE / "waveform.tflite").write_bytes(model)
    print(f"wrote waveform.tflite ({len(model)} bytes); input scale {qin.scale:.6g} "
          f"zero_point {qin.zero_point}")

    xq_held = quantize_values(x_held, qin.scale, qin.zero_point).reshape(-1, 1, WINDOW)
    sel = balanced_subset(y_held, N_TEST_FILE // len(CLASSES))
    np.save(HERE / "test_inputs.npy", xq_held[sel])
    np.save(HERE / "test_labels.npy", y_held[sel].astype(np.int32))
    print(f"wrote test_inputs.npy {xq_held[sel].shape} int8 and test_labels.npy")

    out = tflm_run(model, xq_held)
    int8_pred = out.reshape(len(out), -1).argmax(axis=1)
    int8_acc = float((int8_pred == y_held).mean())
    agree = float((int8_pred == float_pred).mean())
    print(f"held-out ({N_HELDOUT} windows): float accuracy {float_acc:.2%}, "
          f"int8 (TFLM) accuracy {int8_acc:.2%}, float/int8 agreement {agree:.2%}")
    for c, name in enumerate(CLASSES):
        mask = y_held == c
        print(f"  {name:9s} float {(float_pred[mask] == c).mean():.2%}  "
              f"int8 {(int8_pred[mask] == c).mean():.2%}")

    ok = True
    if len(model) >= 4096:
        print("FAIL: model is not smaller than 4 KB")
        ok = False
    if int8_acc <= 0.90:
        print("FAIL: int8 accuracy is not above 90%")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
