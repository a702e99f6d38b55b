"""ADD cases (and the shared generator of the int8 binary-op cases, used by SUB and MUL).

Sweeps: equal shapes (TFLM's non-broadcast path) and every broadcast pattern (scalar,
per-channel, per-row, per-column, mutual 4-D broadcasts, a constant bigger than the
activation), constant operand first or second, two activation operands (the same tensor, a
requantized copy, a FULLY_CONNECTED result broadcast per row), quantization parameters
(equal / very different scales, extreme zero points) and the fused activations. Exhaustive
cases run every pair of int8 operands, some with quantizations chosen so that computing the
multipliers in float32 instead of double would change an output.
"""

from __future__ import annotations

import numpy as np

from .builder import ACT, Case, ModelBuilder, options, random_int8, random_scale

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
OPTIONS = {"ADD": "AddOptionsT", "SUB": "SubOptionsT", "MUL": "MulOptionsT"}
CONST_KINDS = ["same", "scalar", "channel", "row", "col", "4d", "bigger_const"]
ARENA_KINDS = ["self", "requant", "fc_row"]


def _dims(rng: np.random.Generator, rank: int, hi: int = 6) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, hi + 1, size=rank))


def shape_pair(rng: np.random.Generator, kind: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(activation shape, constant shape) for a broadcast pattern."""
    if kind == "same":
        s = _dims(rng, int(rng.integers(1, 5)))
        return s, s
    if kind == "scalar":
        return _dims(rng, int(rng.integers(1, 5))), () if rng.random() < 0.5 else (1,)
    if kind == "channel":
        n, h, w, c = 1, *_dims(rng, 3)
        return (n, h, w, c), (c,) if rng.random() < 0.5 else (1, 1, 1, c)
    if kind == "row":
        n, d = _dims(rng, 2, 8)
        return (n, d), (n, 1)
    if kind == "col":
        n, d = _dims(rng, 2, 8)
        return (n, d), (d,) if rng.random() < 0.5 else (1, d)
    if kind == "4d":
        full = _dims(rng, 4, 4)
        a, b = [], []
        for d in full:
            pick = int(rng.integers(0, 3))
            a.append(1 if pick == 1 else d)
            b.append(1 if pick == 2 else d)
        if rng.random() < 0.3:  # the constant with fewer dimensions
            while len(b) > 1 and b[0] == 1:
                b = b[1:]
        return tuple(a), tuple(b)
    if kind == "bigger_const":
        c = int(rng.integers(1, 6))
        return (c,), (*_dims(rng, 2, 4), c)
    raise ValueError(kind)


def _zero_point(rng: np.random.Generator, output: bool = False) -> int:
    r = rng.random()
    if r < 0.15:
        return 0
    if r < 0.25:
        return int(rng.choice([-128, 127]))
    # Output zero points mostly moderate, so that fused activations rarely clamp everything.
    return int(rng.integers(-64, 65)) if output else int(rng.integers(-128, 128))


def _scales(rng: np.random.Generator, op: str) -> tuple[float, float, float]:
    s1 = random_scale(rng, 1e-3, 0.2)
    r = rng.random()
    if r < 0.2:
        s2 = s1                                   # equal input scales
    elif r < 0.35:
        s2 = float(np.float32(s1 * rng.choice([0.01, 0.03, 30.0, 100.0])))  # very different
    else:
        s2 = random_scale(rng, 1e-3, 0.2)
    factor = float(np.exp(rng.uniform(np.log(0.6), np.log(3.0))))
    if op == "MUL":
        # Mostly a multiplier well below 1; sometimes in [1, 4] (output shift > 0).
        so = s1 * s2 * (factor / 3 if rng.random() < 0.2 else 128 * factor)
    else:
        so = (s1 + s2) * factor
    return s1, s2, float(np.float32(so))


def _inputs(rng: np.random.Generator, shape: tuple[int, ...], n: int = 3) -> np.ndarray:
    x = random_int8(rng, (n, *shape))
    x[0] = rng.choice(np.array([-128, -127, -1, 0, 1, 126, 127], dtype=np.int8), size=shape)
    return x


def binary_model(rng: np.random.Generator, op: str, kind: str, act: str) -> tuple[bytes, tuple[int, ...], str]:
    """A model computing op on one int8 input; returns (tflite, input shape, description)."""
    b = ModelBuilder()
    s1, s2, so = _scales(rng, op)
    z1, z2, zo = _zero_point(rng), _zero_point(rng), _zero_point(rng, output=True)
    opts = options(OPTIONS[op], fusedActivationFunction=ACT[act])
    if kind in CONST_KINDS:
        xs, cs = shape_pair(rng, kind)
        out_shape = tuple(np.broadcast_shapes(xs, cs))
        x = b.tensor(xs, "int8", s1, z1)
        c = b.tensor(cs, "int8", s2, z2, data=random_int8(rng, cs))
        y = b.tensor(out_shape, "int8", so, zo)
        const_first = bool(rng.random() < 0.4)
        b.op(op, [c, x] if const_first else [x, c], [y], opts)
        desc = f"{kind}_{'c' if const_first else 'x'}{list(cs if const_first else xs)}" \
               f"_{'x' if const_first else 'c'}{list(xs if const_first else cs)}"
        return b.build([x], [y]), xs, desc.replace(" ", "")
    if kind == "self":
        xs = _dims(rng, int(rng.integers(1, 5)))
        x = b.tensor(xs, "int8", s1, z1)
        y = b.tensor(xs, "int8", so if op != "MUL" else float(np.float32(s1 * s1 * 128)), zo)
        b.op(op, [x, x], [y], opts)
        return b.build([x], [y]), xs, f"self{list(xs)}".replace(" ", "")
    if kind == "requant":
        xs = _dims(rng, int(rng.integers(1, 5)))
        x = b.tensor(xs, "int8", s1, z1)
        q = b.tensor(xs, "int8", s2, z2)
        y = b.tensor(xs, "int8", so, zo)
        b.op("QUANTIZE", [x], [q])
        swap = bool(rng.random() < 0.5)
        b.op(op, [q, x] if swap else [x, q], [y], opts)
        return b.build([x], [y]), xs, f"requant{'_swap' if swap else ''}{list(xs)}".replace(" ", "")
    if kind == "fc_row":
        n, d = int(rng.integers(1, 4)), int(rng.integers(1, 9))
        x = b.tensor((n, d), "int8", s1, z1)
        w_scale = random_scale(rng, 0.002, 0.02)
        w = b.tensor((1, d), "int8", w_scale, 0, data=random_int8(rng, (1, d)))
        f = b.tensor((n, 1), "int8", s2, z2)
        b.op("FULLY_CONNECTED", [x, w, -1], [f], options("FullyConnectedOptionsT"))
        y = b.tensor((n, d), "int8", so, zo)
        swap = bool(rng.random() < 0.5)
        b.op(op, [f, x] if swap else [x, f], [y], opts)
        return b.build([x], [y]), (n, d), f"fc_row{'_swap' if swap else ''}[{n},{d}]"
    raise ValueError(kind)


# Quantization (s1, s2, s_out, z1, z2, z_out) for which evaluating the ADD / SUB multiplier
# formulas in float32 (as older TFLM sources do for SUB) instead of double changes some
# output: the exhaustive cases with these tell the two apart.
PRECISION_SENSITIVE = {
    "ADD": [(0.03730376437306404, 0.00796416960656643, 0.06474697589874268, 119, 20, 2),
            (0.041229378432035446, 0.011226917617022991, 0.13661926984786987, -119, -15, -30)],
    "SUB": [(0.03734768182039261, 0.06473418325185776, 0.2578255236148834, 81, -37, -80),
            (0.017642153427004814, 0.008376155979931355, 0.07643978297710419, 119, -85, 44)],
}


def exhaustive_model(op: str, s1: float, s2: float, so: float, z1: int, z2: int, zo: int,
                     act: str) -> bytes:
    """input [16, 1] op constant [1, 256] (all int8 values); 16 inputs feed all int8 values,
    so every pair of operands goes through (the broadcast path). TFLM's Python interpreter
    sizes its arena by the model size, so the output per inference is kept small."""
    b = ModelBuilder()
    x = b.tensor((16, 1), "int8", s1, z1)
    c = b.tensor((1, 256), "int8", s2, z2, data=np.arange(-128, 128, dtype=np.int8).reshape(1, 256))
    y = b.tensor((16, 256), "int8", so, zo)
    b.op(op, [x, c], [y], options(OPTIONS[op], fusedActivationFunction=ACT[act]))
    return b.build([x], [y])


def exhaustive_cases(rng: np.random.Generator, op: str, n_random: int) -> list[Case]:
    table = np.arange(-128, 128, dtype=np.int8).reshape(16, 16, 1)
    out: list[Case] = []
    for k, q in enumerate(PRECISION_SENSITIVE.get(op, [])):
        out.append(Case(f"exhaustive_precision_{k}", exhaustive_model(op, *q, "NONE"), table))
    for k in range(n_random):
        s1, s2, so = _scales(rng, op)
        act = ACTS[k % len(ACTS)]
        model = exhaustive_model(op, s1, s2, so, _zero_point(rng), _zero_point(rng),
                                 _zero_point(rng, output=True), act)
        out.append(Case(f"exhaustive_{act}_{k}", model, table))
    return out


def binary_cases(rng: np.random.Generator, op: str, n_const: int, n_arena: int) -> list[Case]:
    out: list[Case] = exhaustive_cases(rng, op, 3)
    for k in range(n_const + n_arena):
        kind = CONST_KINDS[k % len(CONST_KINDS)] if k < n_const else ARENA_KINDS[(k - n_const) % len(ARENA_KINDS)]
        act = ACTS[int(rng.integers(0, len(ACTS)))] if k % 3 else "NONE"
        model, xs, desc = binary_model(rng, op, kind, act)
        out.append(Case(f"{desc}_{act}_{k}", model, _inputs(rng, xs)))
    return out


def cases(rng: np.random.Generator) -> list[Case]:
    return binary_cases(rng, "ADD", 35, 9)
