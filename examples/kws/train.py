"""Train the keyword spotter (a small Keras DS-CNN) on synthetic log-mel feature maps, then quantize it.

    .venv/bin/python examples/kws/train.py [--tiny] [--out DIR]

A real keyword spotter runs a front-end on the microphone signal (1 s of audio -> 32 frames of
16 log-mel energies) and classifies that feature map. Here seeded numpy synthesizes the feature
maps directly: each keyword is a short sequence of "phonemes" (voiced segments with two formant
bands, nasals with low-band energy only, hiss and fricatives with high-band noise), said at a
random time, speed, loudness and formant shift (the speaker) over background noise. Classes:
silence (background only), unknown (random phoneme sequences), yes, no, on, off.

The model: Conv2D (5x3, stride 2 in time) -> DepthwiseConv2D 3x3 -> Conv2D 1x1 ->
DepthwiseConv2D 3x3 stride 2 -> Conv2D 1x1 -> GlobalAveragePooling2D -> Dense -> Softmax
(TFLite ops CONV_2D, DEPTHWISE_CONV_2D, MEAN, FULLY_CONNECTED, SOFTMAX).

Writes into DIR (default: this folder):

    kws.keras                   the float Keras model (not committed)
    calib.npy                   float32 (N, 32, 16, 1): calibration feature maps
    val_x.npy, val_y.npy        float32 (N, 32, 16, 1) held-out feature maps, int32 (N,) labels
    kws.tflite                  int8 in, int8 out (ulab-ml quantize's output)
    test_inputs.npy             int8 (12, 1, 32, 16, 1): two held-out maps per class, quantized
    test_labels.npy             int32 (12,)

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
NAME = "kws"
CLASSES = ("silence", "unknown", "yes", "no", "on", "off")
FRAMES, BANDS = 32, 16
SEED = 20261123

# Phoneme kinds: a voiced segment has two formants (band centres); the others have noise shapes.
VOICED, NASAL, HISS, FRIC = 0, 1, 2, 3
# Keywords: (relative duration, kind, formant 1, formant 2), formants in mel bands (0..15).
KEYWORDS: dict[str, list[tuple[float, int, float, float]]] = {
    "yes": [(0.25, VOICED, 2.0, 12.0), (0.35, VOICED, 4.0, 10.5), (0.40, HISS, 0.0, 0.0)],
    "no": [(0.30, NASAL, 1.0, 5.0), (0.70, VOICED, 3.5, 6.5)],
    "on": [(0.60, VOICED, 5.0, 7.5), (0.40, NASAL, 1.0, 5.0)],
    "off": [(0.55, VOICED, 5.0, 7.5), (0.45, FRIC, 0.0, 0.0)],
}


def band_energy(kind: int, f1: float, f2: float, bands: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Linear energy per band of one frame of a phoneme."""
    if kind == VOICED:
        return np.exp(-0.5 * ((bands - f1) / 1.0) ** 2) + 0.6 * np.exp(-0.5 * ((bands - f2) / 1.2) ** 2)
    if kind == NASAL:
        return 0.7 * np.exp(-0.5 * ((bands - f1) / 1.2) ** 2) + 0.15 * np.exp(-0.5 * ((bands - f2) / 1.5) ** 2)
    if kind == HISS:   # /s/: strong high-band noise
        return 0.5 * np.clip((bands - 9.0) / 5.0, 0.0, 1.0) * rng.uniform(0.6, 1.0, size=len(bands))
    return 0.2 * np.clip((bands - 5.0) / 10.0, 0.05, 1.0) * rng.uniform(0.4, 1.0, size=len(bands))  # /f/


def feature_map(rng: np.random.Generator, label: int) -> np.ndarray:
    """One (FRAMES, BANDS) log-mel-like feature map, scaled to about 0..1."""
    bands = np.arange(BANDS, dtype=np.float64)
    noise_level = rng.uniform(0.005, 0.05)
    e = noise_level * rng.uniform(0.5, 1.5, size=(FRAMES, BANDS)) * (1.0 + np.exp(-bands / 4.0))
    if label == 0:       # silence: background, sometimes a click
        if rng.random() < 0.3:
            e[rng.integers(FRAMES)] += rng.uniform(0.05, 0.3)
    else:
        if label == 1:   # unknown: 2-3 random phonemes
            phones = [(rng.uniform(0.2, 0.5), int(rng.choice([VOICED, VOICED, NASAL, HISS, FRIC])),
                       rng.uniform(1.0, 6.0), rng.uniform(5.0, 13.0)) for _ in range(rng.integers(2, 4))]
        else:
            phones = KEYWORDS[CLASSES[label]]
        length = rng.uniform(0.45, 0.8) * FRAMES
        start = rng.uniform(0.0, FRAMES - length)
        shift = rng.uniform(-0.8, 0.8)               # speaker: all formants up or down
        loud = rng.uniform(0.3, 1.5)
        total = sum(p[0] for p in phones)
        t = start
        for dur, kind, f1, f2 in phones:
            n = dur / total * length
            for fr in range(int(np.floor(t)), min(FRAMES, int(np.ceil(t + n)))):
                e[fr] += loud * band_energy(kind, f1 + shift, f2 + shift, bands, rng)
            t += n
    e *= rng.lognormal(0.0, 0.1, size=e.shape)
    return (np.log10(e + 1e-3) + 3.0) / 3.0


def make_dataset(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n, dtype=np.int32) % len(CLASSES)
    rng.shuffle(labels)
    x = np.stack([feature_map(rng, int(k)) for k in labels])
    return x[..., None].astype(np.float32), labels


def build_model(keras: Any, tiny: bool) -> Any:
    c1, c2, c3 = (8, 12, 16) if tiny else (16, 24, 32)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((FRAMES, BANDS, 1)),
        layers.Conv2D(c1, (5, 3), strides=(2, 1), padding="same", activation="relu"),
        layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        layers.Conv2D(c2, 1, activation="relu"),
        layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu"),
        layers.Conv2D(c3, 1, activation="relu"),
        layers.GlobalAveragePooling2D(),
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
    n_train, n_val, epochs = (600, 240, 2) if args.tiny else (12000, 3000, 30)

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
    print(f"training {NAME}: {model.count_params()} parameters, {n_train} feature maps, {epochs} epochs")
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, validation_data=(x_val, y_val),
              verbose=2 if args.quiet else 1)
    model.save(out / f"{NAME}.keras")
    calib = x_train[:300]
    np.save(out / "calib.npy", calib)
    np.save(out / "val_x.npy", x_val)
    np.save(out / "val_y.npy", y_val)

    # The same as: ulab-ml quantize kws.keras --calib calib.npy -o kws.tflite --val val_x.npy val_y.npy
    res = quantize_to_file(model, calib, out / f"{NAME}.tflite", val=(x_val, y_val), progress=not args.quiet)

    p = edge_params(res.tflite)
    sel = np.concatenate([np.flatnonzero(y_val == c)[:2] for c in range(len(CLASSES))])
    np.save(out / "test_inputs.npy", quantize_values(x_val[sel], p.input_scale, p.input_zero_point)
            .reshape(len(sel), 1, FRAMES, BANDS, 1))
    np.save(out / "test_labels.npy", y_val[sel].astype(np.int32))
    print(f"wrote {NAME}.keras, {NAME}.tflite, calib.npy, val_x.npy, val_y.npy, test_inputs.npy, "
          f"test_labels.npy in {out}")
    return 0 if res.convertible is None else 1


if __name__ == "__main__":
    sys.exit(main())
