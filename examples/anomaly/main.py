# Board-side demo for the vibration anomaly detector (pure MicroPython: no numpy, no ulab).
#
# Copy to the board next to anomaly.uml, anomaly.json (the threshold train.py chose), the
# ulab_ml package and the native module ulab_ml_<arch>.mpy (see README.md), then:
#   mpremote run main.py
#
# It synthesizes 64-bin vibration spectra as train.py does (a healthy machine and the three
# faults), runs the int8 autoencoder, dequantizes its reconstruction and compares the mean
# squared reconstruction error with the threshold. On a real board, compute the spectrum from
# your accelerometer (FFT magnitude in 64 bins of 12.5 Hz, then log1p(30 * m) / log1p(30)).
#
# str.format rather than f-strings: smaller ports leave f-strings out.
# ruff: noqa: UP032
import math

from ulab_ml import Model

try:
    import json
except ImportError:  # ports without json: use the default threshold below
    json = None

BINS = 64
HZ_PER_BIN = 12.5
DEFAULT_THRESHOLD = 0.01


def peak(center: float, width: float, b: int) -> float:
    return math.exp(-0.5 * ((b - center) / width) ** 2)


def spectrum(kind: str, shaft_hz: float) -> list:
    """A log-compressed magnitude spectrum (BINS floats) of the machine in state `kind`."""
    f0 = shaft_hz / HZ_PER_BIN
    width = 0.65
    harmonics = [1.0, 0.5, 0.3, 0.15, 0.08]
    if kind == "imbalance":
        harmonics[0] *= 4.0
    bpfo = 3.3 * f0
    out = []
    for b in range(BINS):
        m = 0.02 * (1.0 + 2.0 * math.exp(-b / 12.0))
        for h in range(len(harmonics)):
            m += harmonics[h] * peak((h + 1) * f0, width, b)
        if kind == "looseness":
            for h in range(1, 12):
                m += 0.25 * peak((h + 0.5) * f0, width, b)
                if h > 5:
                    m += 0.2 * peak(h * f0, width, b)
        elif kind == "bearing":
            for h in (1, 2, 3):
                a = 0.45 / h
                m += a * peak(h * bpfo, width, b)
                m += 0.4 * a * (peak(h * bpfo - f0, width, b) + peak(h * bpfo + f0, width, b))
            m += 0.14 * peak(45.0, 5.5, b)
        out.append(math.log(1.0 + 30.0 * m) / math.log(31.0))
    return out


def load_threshold(path: str = "anomaly.json") -> float:
    if json is None:
        return DEFAULT_THRESHOLD
    try:
        with open(path) as f:
            return float(json.load(f)["threshold"])
    except OSError:
        print("no {}: using the default threshold {}".format(path, DEFAULT_THRESHOLD))
        return DEFAULT_THRESHOLD


def main(path: str = "anomaly.uml") -> None:
    m = Model.load(path)
    threshold = load_threshold()
    print("model {}: input {} {}, output {} {}, arena {} bytes, weights {}, backend {}; threshold {:.5f}".format(
        path, m.input_dtype, m.input_shape, m.output_dtype, m.output_shape, m.arena_size, m.mode, m.backend,
        threshold))
    q = None
    rec = None
    flagged = 0
    cases = (("normal", 35.0), ("normal", 50.0), ("imbalance", 45.0), ("looseness", 40.0), ("bearing", 50.0))
    for kind, shaft in cases:
        x = spectrum(kind, shaft)
        q = m.quantize(x, q)
        rec = m.dequantize(m.infer(q), rec)            # reuses the float buffer after the first call
        err = 0.0
        for i in range(BINS):
            d = rec[i] - x[i]
            err += d * d
        err /= BINS
        anomaly = err > threshold
        flagged += anomaly
        print("{:<9} {:2.0f} Hz: reconstruction error {:.5f} -> {}".format(
            kind, shaft, err, "ANOMALY" if anomaly else "normal"))
    print("{} of {} flagged".format(flagged, len(cases)))


main()
