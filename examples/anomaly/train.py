"""Train the vibration anomaly detector (a Keras dense autoencoder) on synthetic spectra, quantize it,
and pick the reconstruction-error threshold on the int8 model.

    .venv/bin/python examples/anomaly/train.py [--tiny] [--out DIR]

Data: seeded numpy generates 64-bin vibration magnitude spectra (0 to 800 Hz, 12.5 Hz per bin,
log-compressed to about 0..1) of a rotating machine running at 30-60 Hz. Normal spectra have
the shaft harmonics and a noise floor; the three faults used only for evaluation are imbalance
(a dominant 1x peak), looseness (many harmonics and half-harmonics) and a bearing defect (peaks at
a non-integer multiple of the shaft speed, with sidebands, over a raised resonance band). The
autoencoder (Dense 64 -> 32 -> 8 -> 32 -> 64, sigmoid output) learns normal spectra only; a
spectrum it reconstructs badly is an anomaly.

The threshold is the 99.5th percentile of the int8 model's reconstruction error (mean squared
error between the dequantized output and the input spectrum, as main.py computes it on the
board) over held-out normal spectra, times 1.2.

Writes into DIR (default: this folder):

    anomaly.keras               the float Keras model (not committed)
    calib.npy                   float32 (N, 64): calibration spectra (normal)
    val_x.npy, val_y.npy        float32 (N, 64): held-out normal spectra, and the same as targets
    anomaly.tflite              int8 in, int8 out (ulab-ml quantize's output)
    anomaly.json                {"threshold": ...}: main.py reads it next to anomaly.uml
    test_inputs.npy             int8 (8, 1, 64): 2 normal, 2 of each fault, quantized
    test_labels.npy             int32 (8,): 0 normal, 1 imbalance, 2 looseness, 3 bearing

--tiny trains a small model on a little data for a couple of epochs (a few seconds; the tests).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ulab_ml_host.quantize import edge_params, import_tensorflow, int8_predict, quantize_to_file, quantize_values

HERE = Path(__file__).resolve().parent
NAME = "anomaly"
BINS = 64
HZ_PER_BIN = 12.5
KINDS = ("normal", "imbalance", "looseness", "bearing")
SEED = 20261122


def peak(center: float, width: float) -> np.ndarray:
    """A Gaussian spectral line at `center` (in bins)."""
    b = np.arange(BINS)
    return np.exp(-0.5 * ((b - center) / width) ** 2)


def spectrum(rng: np.random.Generator, kind: int) -> np.ndarray:
    """One spectrum (BINS,) float32 of a machine in state `kind` (index into KINDS)."""
    f0 = rng.uniform(30.0, 60.0) / HZ_PER_BIN            # shaft speed in bins (2.4 .. 4.8)
    width = rng.uniform(0.5, 0.8)
    level = rng.uniform(0.7, 1.3)
    harmonics = np.array([1.0, 0.5, 0.3, 0.15, 0.08]) * rng.uniform(0.8, 1.2, size=5)
    floor = 0.02 * rng.uniform(0.7, 1.4) * (1.0 + 2.0 * np.exp(-np.arange(BINS) / 12.0))
    mag = floor.copy()
    if kind == 1:      # imbalance: the 1x line dominates
        harmonics[0] *= rng.uniform(3.0, 5.0)
    for h, a in enumerate(harmonics, start=1):
        mag += level * a * peak(h * f0, width)
    if kind == 2:      # mechanical looseness: half-harmonics and a long row of harmonics
        for h in range(1, 12):
            mag += level * rng.uniform(0.15, 0.35) * peak((h + 0.5) * f0, width)
            if h > 5:
                mag += level * rng.uniform(0.1, 0.3) * peak(h * f0, width)
    elif kind == 3:    # bearing outer-race defect: BPFO at 3.05-3.6x with 1x sidebands, resonance hump
        bpfo = rng.uniform(3.05, 3.6) * f0
        for h in (1, 2, 3):
            a = level * rng.uniform(0.3, 0.6) / h
            mag += a * peak(h * bpfo, width)
            mag += 0.4 * a * (peak(h * bpfo - f0, width) + peak(h * bpfo + f0, width))
        mag += level * rng.uniform(0.08, 0.2) * peak(rng.uniform(38, 52), rng.uniform(4, 7))
    mag *= rng.lognormal(0.0, 0.08, size=BINS)             # measurement scatter
    return (np.log1p(30.0 * mag) / np.log1p(30.0)).astype(np.float32)   # log-compressed, ~0..1


def make_dataset(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    return np.stack([spectrum(rng, kind) for _ in range(n)])


def build_model(keras: Any, tiny: bool) -> Any:
    h, code = (16, 4) if tiny else (32, 8)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((BINS,)),
        layers.Dense(h, activation="relu"),
        layers.Dense(code, activation="relu"),
        layers.Dense(h, activation="relu"),
        layers.Dense(BINS, activation="sigmoid"),
    ], name=NAME)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model, little data, 2 epochs (for tests)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    n_train, n_val, n_fault, epochs = (600, 200, 50, 2) if args.tiny else (8000, 2000, 500, 60)

    rng = np.random.default_rng(SEED)
    x_train = make_dataset(rng, n_train, 0)
    x_val = make_dataset(rng, n_val, 0)          # held-out normal: threshold
    x_test = make_dataset(rng, n_val, 0)         # held-out normal: false alarms
    faults = [make_dataset(rng, n_fault, k) for k in range(1, len(KINDS))]

    tf = import_tensorflow(not args.quiet)
    import keras

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    model = build_model(keras, args.tiny)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
    print(f"training {NAME}: {model.count_params()} parameters, {n_train} normal spectra, {epochs} epochs")
    model.fit(x_train, x_train, batch_size=64, epochs=epochs, validation_data=(x_val, x_val),
              verbose=2 if args.quiet else 1)
    model.save(out / f"{NAME}.keras")
    calib = x_train[:300]
    np.save(out / "calib.npy", calib)
    np.save(out / "val_x.npy", x_val)
    np.save(out / "val_y.npy", x_val)

    # The same as: ulab-ml quantize anomaly.keras --calib calib.npy -o anomaly.tflite --val val_x.npy val_y.npy
    res = quantize_to_file(model, calib, out / f"{NAME}.tflite", val=(x_val, x_val), progress=not args.quiet)

    # Threshold and detection rates on the int8 model (TensorFlow Lite Micro = what the board computes).
    sets = [x_val, x_test, *faults]
    recon = int8_predict(res.tflite, np.concatenate(sets), progress=not args.quiet)
    errors = ((recon - np.concatenate(sets)) ** 2).mean(axis=1)
    bounds = np.cumsum([0] + [len(s) for s in sets])
    err = [errors[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    threshold = float(np.percentile(err[0], 99.5) * 1.2)
    (out / f"{NAME}.json").write_text(json.dumps({"threshold": threshold, "error": "mse"}) + "\n")
    print(f"threshold {threshold:.6f} (mean squared reconstruction error, int8 model); flagged as anomalies:")
    print(f"  normal (held out)  {(err[1] > threshold).mean() * 100:6.2f} %  (false alarms)")
    for k, e in enumerate(err[2:], start=1):
        print(f"  {KINDS[k]:<18} {(e > threshold).mean() * 100:6.2f} %")

    p = edge_params(res.tflite)
    pick = np.concatenate([x_test[:2]] + [f[:2] for f in faults])
    np.save(out / "test_inputs.npy", quantize_values(pick, p.input_scale, p.input_zero_point).reshape(-1, 1, BINS))
    np.save(out / "test_labels.npy", np.repeat(np.arange(len(KINDS), dtype=np.int32), 2))
    print(f"wrote {NAME}.keras, {NAME}.tflite, {NAME}.json, calib.npy, val_x.npy, val_y.npy, "
          f"test_inputs.npy, test_labels.npy in {out}")
    return 0 if res.convertible is None else 1


if __name__ == "__main__":
    sys.exit(main())
