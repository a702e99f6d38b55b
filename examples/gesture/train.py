"""Train the gesture classifier (Keras Conv1D) on synthetic accelerometer windows, then quantize it.

    .venv/bin/python examples/gesture/train.py [--tiny] [--out DIR]

Data: seeded numpy generates windows of 64 samples (1.28 s at 50 Hz) of a 3-axis accelerometer
in g, one of four gestures: idle, shake, circle, tap (see README.md for how each is made). The
model is a small 1-D CNN (Conv1D / MaxPooling1D / GlobalAveragePooling1D / Dense / Softmax),
which TensorFlow Lite turns into RESHAPE, CONV_2D, MAX_POOL_2D, MEAN, FULLY_CONNECTED and
SOFTMAX: all ops ulab_ml runs.

Writes into DIR (default: this folder):

    gesture.keras               the float Keras model (not committed)
    calib.npy                   float32 (N, 64, 3): calibration windows for the quantizer
    val_x.npy, val_y.npy        float32 (N, 64, 3) held-out windows, int32 (N,) their labels
    gesture.tflite              int8 in, int8 out (ulab-ml quantize's output)
    test_inputs.npy             int8 (8, 1, 64, 3): two held-out windows per class, quantized
    test_labels.npy             int32 (8,)

--tiny trains a small model on a little data for a couple of epochs (a few seconds; the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ulab_ml_host.quantize import edge_params, import_tensorflow, quantize_to_file, quantize_values

HERE = Path(__file__).resolve().parent
NAME = "gesture"
CLASSES = ("idle", "shake", "circle", "tap")
WINDOW = 64          # samples per window
RATE = 50.0          # Hz
SEED = 20261121


def make_dataset(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n windows float32 (n, WINDOW, 3) in g, labels int32 (n,), classes balanced and shuffled.

    Every window: gravity (1 g) along a randomly tilted z axis (the device held at up to 35
    degrees), a small per-axis offset and sensor noise. On top of it:
      idle    nothing more (a slow drift)
      shake   a 4-7 Hz oscillation of 0.8-2 g along a mostly horizontal direction
      circle  the device moved in a circle: 0.7-1.6 Hz, 0.3-0.9 g in x and y, 90 degrees apart
      tap     one sharp 1.5-3.5 g spike on z (2-4 samples wide) with a small rebound
    """
    labels = np.arange(n, dtype=np.int32) % len(CLASSES)
    rng.shuffle(labels)
    t = np.arange(WINDOW) / RATE
    x = np.zeros((n, WINDOW, 3))
    for i in range(n):
        tilt, az = rng.uniform(0.0, np.radians(35)), rng.uniform(0.0, 2 * np.pi)
        g = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
        w = np.tile(g, (WINDOW, 1)) + rng.uniform(-0.05, 0.05, size=3)
        w += np.outer(t, rng.normal(0.0, 0.05, size=3))                         # slow drift
        k = labels[i]
        if k == 1:    # shake
            f, a, ph = rng.uniform(4.0, 7.0), rng.uniform(0.8, 2.0), rng.uniform(0, 2 * np.pi)
            d = np.array([np.cos(az + 1.0), np.sin(az + 1.0), rng.uniform(-0.3, 0.3)])
            w += np.outer(a * np.sin(2 * np.pi * f * t + ph), d / np.linalg.norm(d))
        elif k == 2:  # circle
            f, a, ph = rng.uniform(0.7, 1.6), rng.uniform(0.3, 0.9), rng.uniform(0, 2 * np.pi)
            w[:, 0] += a * np.cos(2 * np.pi * f * t + ph)
            w[:, 1] += a * np.sin(2 * np.pi * f * t + ph) * rng.choice([-1.0, 1.0])
        elif k == 3:  # tap
            t0, a, width = rng.uniform(0.15, 1.1), rng.uniform(1.5, 3.5), rng.uniform(2.0, 4.0) / RATE
            pulse = np.exp(-0.5 * ((t - t0) / (width / 2)) ** 2)
            rebound = 0.3 * np.exp(-0.5 * ((t - t0 - 1.5 * width) / width) ** 2)
            w[:, 2] += a * (pulse - rebound)
        w += rng.normal(0.0, rng.uniform(0.02, 0.06), size=w.shape)               # sensor noise
        x[i] = w
    return x.astype(np.float32), labels


def build_model(keras: Any, tiny: bool) -> Any:
    c1, c2, c3 = (4, 8, 8) if tiny else (8, 16, 24)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((WINDOW, 3)),
        layers.Conv1D(c1, 5, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(c2, 5, activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(c3, 3, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(len(CLASSES)),
        layers.Softmax(),
    ], name=NAME)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model, little data, 2 epochs (for tests)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: this folder)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    n_train, n_val, epochs = (600, 200, 2) if args.tiny else (8000, 2000, 30)

    rng = np.random.default_rng(SEED)
    x_train, y_train = make_dataset(rng, n_train)
    x_val, y_val = make_dataset(rng, n_val)

    tf = import_tensorflow(not args.quiet)
    import keras

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    model = build_model(keras, args.tiny)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    print(f"training {NAME}: {model.count_params()} parameters, {n_train} windows, {epochs} epochs")
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_data=(x_val, y_val),
              verbose=2 if args.quiet else 1)
    model.save(out / f"{NAME}.keras")
    calib = x_train[:300]
    np.save(out / "calib.npy", calib)
    np.save(out / "val_x.npy", x_val)
    np.save(out / "val_y.npy", y_val)

    # The same as: ulab-ml quantize gesture.keras --calib calib.npy -o gesture.tflite --val val_x.npy val_y.npy
    res = quantize_to_file(model, calib, out / f"{NAME}.tflite", val=(x_val, y_val), progress=not args.quiet)

    p = edge_params(res.tflite)
    sel = np.concatenate([np.flatnonzero(y_val == c)[:2] for c in range(len(CLASSES))])
    np.save(out / "test_inputs.npy", quantize_values(x_val[sel], p.input_scale, p.input_zero_point)
            .reshape(len(sel), 1, WINDOW, 3))
    np.save(out / "test_labels.npy", y_val[sel].astype(np.int32))
    print(f"wrote {NAME}.keras, {NAME}.tflite, calib.npy, val_x.npy, val_y.npy, test_inputs.npy, "
          f"test_labels.npy in {out}")
    return 0 if res.convertible is None else 1


if __name__ == "__main__":
    sys.exit(main())
