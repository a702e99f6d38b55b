# Board-side demo for the waveform classifier (pure MicroPython: no numpy, no ulab).
#
# Copy to the board next to waveform.uml, the ulab_ml package and the native module
# ulab_ml_<arch>.mpy (see README.md), then run it:  mpremote run main.py
#
# It synthesizes a 32-sample window of each waveform class (with a little pseudo-random
# noise), quantizes it with the model's input scale/zero point, runs the int8 model and
# prints the predicted class and its probability.
#
# str.format rather than f-strings: f-strings are an optional MicroPython feature that
# smaller ports (e.g. SAMD21) leave out.
# ruff: noqa: UP032
import math

import ulab_ml
from ulab_ml import Model

try:
    from time import ticks_diff, ticks_us
except ImportError:  # ports without ticks_*: no timing
    ticks_us = None

CLASSES = ("sine", "square", "triangle", "sawtooth")
WINDOW = 32

_seed = 12345


def noise(std: float) -> float:
    """Small deterministic pseudo-random noise (an LCG; no dependence on `random`)."""
    global _seed
    _seed = (_seed * 1103515245 + 12345) & 0x7FFFFFFF
    return std * ((_seed / 0x7FFFFFFF) * 2.0 - 1.0) * 1.732  # uniform, std ~= std


def wave(kind: int, cycles: float) -> float:
    """Unit-amplitude waveform of class `kind` at phase `cycles` (in cycles), as in train.py."""
    frac = cycles - math.floor(cycles)
    if kind == 0:
        return math.sin(2.0 * math.pi * frac)
    if kind == 1:
        return 1.0 if frac < 0.5 else -1.0
    if kind == 2:
        return 1.0 - 4.0 * abs(((frac + 0.25) % 1.0) - 0.5)
    return 2.0 * frac - 1.0


def window(kind: int, freq: float, phase: float, amp: float, offset: float,
           noise_std: float) -> list:
    """WINDOW float samples: freq cycles per window, phase in cycles."""
    return [amp * wave(kind, phase + freq * i / WINDOW) + offset + noise(noise_std)
            for i in range(WINDOW)]


def main(path: str = "waveform.uml") -> tuple:
    m = Model.load(path)
    print("model {}: input {} {}, output {} {}, arena {} bytes".format(
        path, m.input_dtype, m.input_shape, m.output_dtype, m.output_shape, m.arena_size))
    q = None
    correct = 0
    settings = ((2.0, 0.1, 1.0, 0.0), (1.3, 0.6, 0.7, 0.3), (3.2, 0.35, 1.2, -0.2))
    for freq, phase, amp, offset in settings:
        for kind in range(len(CLASSES)):
            x = window(kind, freq, phase, amp, offset, 0.03)
            q = m.quantize(x, q)                 # reuses the int8 buffer after the first call
            t0 = ticks_us() if ticks_us else 0
            out = m.infer(q)
            dt = ticks_diff(ticks_us(), t0) if ticks_us else -1
            k = ulab_ml.argmax(out)
            p = (out[k] - m.output_zero_point) * m.output_scale
            ok = k == kind
            correct += ok
            print("{:<8} freq {:.1f} -> {:<8} p={:.2f}  {}  ({} us)".format(
                CLASSES[kind], freq, CLASSES[k], p, "ok" if ok else "WRONG", dt))
    total = len(settings) * len(CLASSES)
    print("{}/{} correct".format(correct, total))
    return correct, total


main()
