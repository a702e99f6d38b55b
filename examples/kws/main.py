# Board-side demo for the keyword spotter (pure MicroPython: no numpy, no ulab).
#
# Copy to the board next to kws.uml, the ulab_ml package and the native module
# ulab_ml_<arch>.mpy (see README.md), then:  mpremote run main.py
#
# The model classifies a feature map of 32 frames x 16 log-mel energies (1 s of audio). A real
# device computes it from the microphone with a front-end; this demo synthesizes the maps the
# way train.py does (each keyword a short sequence of phonemes over background noise), then
# quantizes, infers and prints the top class.
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

CLASSES = ("silence", "unknown", "yes", "no", "on", "off")
FRAMES, BANDS = 32, 16
VOICED, NASAL, HISS, FRIC = 0, 1, 2, 3
# (relative duration, kind, formant 1, formant 2), as in train.py
KEYWORDS = {
    "yes": ((0.25, VOICED, 2.0, 12.0), (0.35, VOICED, 4.0, 10.5), (0.40, HISS, 0.0, 0.0)),
    "no": ((0.30, NASAL, 1.0, 5.0), (0.70, VOICED, 3.5, 6.5)),
    "on": ((0.60, VOICED, 5.0, 7.5), (0.40, NASAL, 1.0, 5.0)),
    "off": ((0.55, VOICED, 5.0, 7.5), (0.45, FRIC, 0.0, 0.0)),
    "unknown": ((0.4, VOICED, 2.5, 9.0), (0.3, FRIC, 0.0, 0.0), (0.3, VOICED, 5.5, 12.5)),
    "silence": (),
}
_LOG10 = math.log(10.0)
_seed = 777


def rand() -> float:
    """Uniform in [0, 1) from a small LCG (no dependence on `random`)."""
    global _seed
    _seed = (_seed * 1103515245 + 12345) & 0x7FFFFFFF
    return _seed / 0x80000000


def gauss(b: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((b - centre) / width) ** 2)


def band_energy(kind: int, f1: float, f2: float, b: int) -> float:
    if kind == VOICED:
        return gauss(b, f1, 1.0) + 0.6 * gauss(b, f2, 1.2)
    if kind == NASAL:
        return 0.7 * gauss(b, f1, 1.2) + 0.15 * gauss(b, f2, 1.5)
    if kind == HISS:
        return 0.5 * min(max((b - 9.0) / 5.0, 0.0), 1.0) * (0.6 + 0.4 * rand())
    return 0.2 * min(max((b - 5.0) / 10.0, 0.05), 1.0) * (0.4 + 0.6 * rand())


def feature_map(out: array, word: str, start: int, length: int, shift: float, loud: float) -> array:
    """Fill `out` (FRAMES x BANDS floats, frame after frame): `word` said from frame `start` for
    `length` frames, formants shifted by `shift` bands, over background noise. One preallocated
    array('f') rather than a list of 512 float objects: a small heap (an RP2040's) stays in one
    piece."""
    phones = KEYWORDS[word]
    total = 0.0
    for p in phones:
        total += p[0]
    # which phoneme covers each frame (-1: none)
    which = [-1] * FRAMES
    t = float(start)
    for k in range(len(phones)):
        n = phones[k][0] / total * length
        for fr in range(int(math.floor(t)), min(FRAMES, int(math.ceil(t + n)))):
            which[fr] = k
        t += n
    i = 0
    for fr in range(FRAMES):
        for b in range(BANDS):
            e = 0.02 * (0.5 + rand()) * (1.0 + math.exp(-b / 4.0))
            k = which[fr]
            if k >= 0:
                _, kind, f1, f2 = phones[k]
                e += loud * band_energy(kind, f1 + shift, f2 + shift, b)
            out[i] = (math.log(e + 1e-3) / _LOG10 + 3.0) / 3.0
            i += 1
    return out


def main(path: str = "kws.uml") -> None:
    m = Model.load(path)
    print("model {}: input {} {}, output {} {}, arena {} bytes, weights {}, backend {}".format(
        path, m.input_dtype, m.input_shape, m.output_dtype, m.output_shape, m.arena_size, m.mode, m.backend))
    # (word, start frame, length in frames, formant shift, loudness)
    cases = (("yes", 6, 20, 0.0, 1.0), ("no", 4, 18, 0.3, 0.8), ("on", 10, 16, -0.4, 1.2),
             ("off", 8, 22, 0.2, 0.9), ("silence", 0, 0, 0.0, 0.0), ("unknown", 5, 20, 0.0, 1.0))
    features = array("f", bytes(4 * FRAMES * BANDS))
    q = None
    correct = 0
    for word, start, length, shift, loud in cases:
        q = m.quantize(feature_map(features, word, start, length, shift, loud), q)
        t0 = ticks_us() if ticks_us else 0
        out = m.infer(q)
        dt = ticks_diff(ticks_us(), t0) if ticks_us else -1
        k = ulab_ml.argmax(out)
        p = (out[k] - m.output_zero_point) * m.output_scale
        correct += CLASSES[k] == word
        print("said {:<8} -> {:<8} p={:.2f}  {}  ({} us)".format(
            word, CLASSES[k], p, "ok" if CLASSES[k] == word else "WRONG", dt))
    print("{}/{} correct".format(correct, len(cases)))


main()
