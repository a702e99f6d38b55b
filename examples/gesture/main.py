# Board-side demo for the gesture classifier (pure MicroPython: no numpy, no ulab).
#
# Copy to the board next to gesture.uml, the ulab_ml package and the native module
# ulab_ml_<arch>.mpy (see README.md), then:  mpremote run main.py
#
# It synthesizes a 64-sample window of a 3-axis accelerometer (in g, 50 Hz) for each gesture,
# as train.py does, quantizes it with the model's input scale and zero point, runs the int8
# model and prints the predicted gesture. On a real board, fill `window` from your sensor
# instead (64 rows of x, y, z in g, interleaved: x0, y0, z0, x1, ...).
#
# str.format rather than f-strings: smaller ports leave f-strings out.
# ruff: noqa: UP032
import math
from array import array

import ulab_ml
from ulab_ml import Model

try:
    from time import ticks_diff, ticks_us
except ImportError:  # ports without ticks_*: no timing
    ticks_us = None

CLASSES = ("idle", "shake", "circle", "tap")
WINDOW = 64
RATE = 50.0

_seed = 2024


def rand() -> float:
    """Uniform in [0, 1) from a small LCG (no dependence on `random`)."""
    global _seed
    _seed = (_seed * 1103515245 + 12345) & 0x7FFFFFFF
    return _seed / 0x80000000


def gauss(std: float) -> float:
    """Approximately normal noise (sum of 4 uniforms)."""
    return std * (rand() + rand() + rand() + rand() - 2.0) * 1.732


def window(out: array, kind: int, tilt_deg: float, freq: float, amp: float) -> array:
    """Fill `out` with WINDOW x 3 floats, interleaved x, y, z: gravity on a tilted z axis plus
    the gesture (one preallocated array('f'), not a list of float objects, for small heaps)."""
    tilt, az = math.radians(tilt_deg), 0.7
    gx, gy, gz = math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)
    for i in range(WINDOW):
        t = i / RATE
        x, y, z = gx, gy, gz
        if kind == 1:    # shake: a fast oscillation along a horizontal direction
            s = amp * math.sin(2 * math.pi * freq * t)
            x += s * math.cos(az + 1.0)
            y += s * math.sin(az + 1.0)
        elif kind == 2:  # circle: x and y 90 degrees apart
            x += amp * math.cos(2 * math.pi * freq * t)
            y += amp * math.sin(2 * math.pi * freq * t)
        elif kind == 3:  # tap: one sharp spike on z at 0.5 s with a small rebound
            width = 3.0 / RATE
            z += amp * (math.exp(-0.5 * ((t - 0.5) / (width / 2)) ** 2)
                        - 0.3 * math.exp(-0.5 * ((t - 0.5 - 1.5 * width) / width) ** 2))
        out[3 * i] = x + gauss(0.03)
        out[3 * i + 1] = y + gauss(0.03)
        out[3 * i + 2] = z + gauss(0.03)
    return out


def main(path: str = "gesture.uml") -> None:
    m = Model.load(path)
    print("model {}: input {} {}, output {} {}, arena {} bytes, weights {}, backend {}".format(
        path, m.input_dtype, m.input_shape, m.output_dtype, m.output_shape, m.arena_size, m.mode, m.backend))
    # (gesture, tilt in degrees, frequency in Hz, amplitude in g)
    cases = ((0, 10, 0, 0), (1, 20, 5.5, 1.4), (2, 15, 1.1, 0.6), (3, 5, 0, 2.5),
             (0, 30, 0, 0), (1, 5, 4.5, 1.0), (2, 25, 0.9, 0.5), (3, 25, 0, 3.0))
    samples = array("f", bytes(4 * WINDOW * 3))
    q = None
    correct = 0
    for kind, tilt, freq, amp in cases:
        q = m.quantize(window(samples, kind, tilt, freq, amp), q)   # reuses the int8 buffer after the first call
        t0 = ticks_us() if ticks_us else 0
        out = m.infer(q)
        dt = ticks_diff(ticks_us(), t0) if ticks_us else -1
        k = ulab_ml.argmax(out)
        p = (out[k] - m.output_zero_point) * m.output_scale
        correct += k == kind
        print("{:<7} -> {:<7} p={:.2f}  {}  ({} us)".format(
            CLASSES[kind], CLASSES[k], p, "ok" if k == kind else "WRONG", dt))
    print("{}/{} correct".format(correct, len(cases)))


main()
