"""QUANTIZE and DEQUANTIZE cases.

- float32 -> int8: float inputs at every rounding threshold and one float below it, random
  values, signed zeros, denormals, the smallest normals, and the largest magnitudes for which
  TFLM's float -> int32 conversion is defined; scales from denormal to large, power-of-two
  and "ugly" ones, extreme zero points.
- int8 -> int8 requantization: all int8 values, scale ratios from 1/100 to 100, identity.
- int8 -> float32: all int8 values, scales from denormal to overflowing float32.
- small multi-op models at the float edges: float -> QUANTIZE -> FULLY_CONNECTED ->
  DEQUANTIZE -> float, QUANTIZE -> DEQUANTIZE round trips, QUANTIZE -> ADD -> DEQUANTIZE.

NaN, infinities and |x / scale| >= 2^31 are left out: TFLM's behaviour there is undefined
(the float -> int32 conversion overflows); see host_tools/ulab_ml_host/lowering/quantize.py.
"""

from __future__ import annotations

import numpy as np

from ulab_ml_host.lowering.quantize import key_to_float, quantize_thresholds

from .builder import Case, ModelBuilder, options, random_int8, random_scale
from .unary import unary_model

ROW = 64
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)


def _zero_point(rng: np.random.Generator) -> int:
    r = rng.random()
    if r < 0.2:
        return 0
    if r < 0.35:
        return int(rng.choice([-128, 127]))
    return int(rng.integers(-128, 128))


def _float_scale(rng: np.random.Generator, k: int) -> float:
    kind = k % 8
    if kind == 0:
        return float(np.float32(2.0 ** int(rng.integers(-12, 4))))      # power of two
    if kind == 1:
        return float(np.float32(1.0 / float(rng.choice([127.0, 255.0, 256.0 - 1e-3, 3.0]))))
    if kind == 2:
        return float(np.float32(np.exp(rng.uniform(np.log(1e-38), np.log(1e-30)))))   # tiny
    if kind == 3:
        return float(np.float32(np.exp(rng.uniform(np.log(1e-44), np.log(1e-39)))))   # denormal
    if kind == 4:
        return float(np.float32(np.exp(rng.uniform(np.log(10.0), np.log(1e30)))))    # large
    return random_scale(rng, 1e-4, 1.0)


def _defined(x: np.ndarray, scale: float) -> np.ndarray:
    """Where TFLM's AffineQuantize is defined: finite x with |round(x / scale) + zp| < 2^31."""
    with np.errstate(over="ignore", invalid="ignore"):
        q = (x / np.float32(scale)).astype(np.float64)
    return np.isfinite(x) & np.isfinite(q) & (np.abs(q) < 2.0**31 - 512)


def _pack_rows(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 1, ROW) float32 inputs holding all values (shuffled, padded with the first ones)."""
    v = np.asarray(values, dtype=np.float32)
    v = v[rng.permutation(len(v))]
    n = -(-len(v) // ROW)
    v = np.concatenate([v, v[: n * ROW - len(v)]])
    return v.reshape(n, 1, ROW)


def float_inputs(rng: np.random.Generator, scale: float, zp: int, n_random: int = 128) -> np.ndarray:
    t = key_to_float(quantize_thresholds(scale, zp))
    below = np.nextafter(t, np.float32(-np.inf), dtype=np.float32)
    span = (300 + abs(zp)) * scale
    rand = (rng.uniform(-span, span, n_random)).astype(np.float32)
    tiny = np.float32(1e-45)
    fmin = np.finfo(np.float32).tiny
    lim = np.float32((2.0**31 - 1024) * scale)
    with np.errstate(over="ignore"):
        special = np.array([0.0, -0.0, tiny, -tiny, tiny * 1000, -tiny * 1000, fmin, -fmin,
                            np.nextafter(fmin, np.float32(0)), -np.nextafter(fmin, np.float32(0)),
                            1.0, -1.0, scale / 2, -scale / 2, 1.5 * scale, -1.5 * scale,
                            lim, -lim, np.finfo(np.float32).max, np.finfo(np.float32).min, 1e30, -1e30,
                            3.4e38 * scale],
                           dtype=np.float32)
    values = np.concatenate([t, below, rand, special]).astype(np.float32)
    return _pack_rows(values[_defined(values, scale)], rng)


def quantize_float_model(scale: float, zp: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, ROW), "float32")
    y = b.tensor((1, ROW), "int8", scale, zp)
    b.op("QUANTIZE", [x], [y])
    return b.build([x], [y])


def dequantize_model(shape: tuple[int, ...], scale: float, zp: int) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, "int8", scale, zp)
    y = b.tensor(shape, "float32")
    b.op("DEQUANTIZE", [x], [y])
    return b.build([x], [y])


def float_fc_model(rng: np.random.Generator, batches: int, depth: int, out_depth: int) -> tuple[bytes, float]:
    """float -> QUANTIZE -> FULLY_CONNECTED -> DEQUANTIZE -> float; returns (model, input scale)."""
    b = ModelBuilder()
    xs = random_scale(rng, 0.005, 0.05)
    x = b.tensor((batches, depth), "float32")
    q = b.tensor((batches, depth), "int8", xs, _zero_point(rng))
    ws = random_scale(rng, 0.002, 0.02)
    w = b.tensor((out_depth, depth), "int8", ws, 0, data=random_int8(rng, (out_depth, depth)))
    bias = b.tensor((out_depth,), "int32", float(np.float32(xs * ws)), 0,
                    data=rng.integers(-2000, 2000, size=out_depth).astype(np.int32))
    ys = float(np.float32(xs * ws * np.sqrt(depth) * 40))
    f = b.tensor((batches, out_depth), "int8", ys, int(rng.integers(-20, 20)))
    y = b.tensor((batches, out_depth), "float32")
    b.op("QUANTIZE", [x], [q])
    b.op("FULLY_CONNECTED", [q, w, bias], [f], options("FullyConnectedOptionsT"))
    b.op("DEQUANTIZE", [f], [y])
    return b.build([x], [y]), xs


def round_trip_model(shape: tuple[int, ...], scale: float, zp: int, add_const: bool,
                     rng: np.random.Generator) -> bytes:
    """float -> QUANTIZE -> [ADD constant ->] DEQUANTIZE -> float."""
    b = ModelBuilder()
    x = b.tensor(shape, "float32")
    q = b.tensor(shape, "int8", scale, zp)
    b.op("QUANTIZE", [x], [q])
    if add_const:
        c = b.tensor(shape[-1:], "int8", scale * 0.5, 0, data=random_int8(rng, shape[-1:]))
        s = b.tensor(shape, "int8", float(np.float32(scale * 1.5)), _zero_point(rng))
        b.op("ADD", [q, c], [s], options("AddOptionsT"))
        q = s
    y = b.tensor(shape, "float32")
    b.op("DEQUANTIZE", [q], [y])
    return b.build([x], [y])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # float32 -> int8
    for k in range(20):
        scale, zp = _float_scale(rng, k), _zero_point(rng)
        out.append(Case(f"float_s{scale:.3g}_zp{zp}_{k}", quantize_float_model(scale, zp),
                        float_inputs(rng, scale, zp)))
    # int8 -> int8
    for k in range(10):
        s_in = random_scale(rng, 1e-3, 0.1)
        if k == 0:
            s_out, z_in, z_out = s_in, 5, 5                  # identity
        else:
            ratio = float(np.exp(rng.uniform(np.log(0.01), np.log(100.0))))
            s_out, z_in, z_out = float(np.float32(s_in / ratio)), _zero_point(rng), _zero_point(rng)
        if k < 6:
            shape: tuple[int, ...] = (16, 16)
            inputs = ALL_INT8.reshape(1, 16, 16)
        else:
            shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
            inputs = random_int8(rng, (3, *shape))
        out.append(Case(f"requant_{s_in / s_out:.3g}_zp{z_in}to{z_out}_{k}",
                        unary_model("QUANTIZE", shape, s_in, z_in, s_out, z_out), inputs))
    # int8 -> float32
    dq_scales = [random_scale(rng, 1e-4, 1.0) for _ in range(6)] + [
        float(np.float32(1e-40)), float(np.float32(3e-39)), float(np.float32(1.0 / 255)),
        float(np.float32(3e36))]  # denormal results; float32 overflow to inf
    for k, scale in enumerate(dq_scales):
        zp = _zero_point(rng)
        out.append(Case(f"dequant_s{scale:.3g}_zp{zp}_{k}", dequantize_model((16, 16), scale, zp),
                        ALL_INT8.reshape(1, 16, 16)))
    # multi-op models at the float edges
    for k in range(4):
        batches, depth, out_depth = int(rng.integers(1, 4)), int(rng.integers(2, 24)), int(rng.integers(1, 12))
        model, xs = float_fc_model(rng, batches, depth, out_depth)
        inputs = rng.uniform(-140 * xs, 140 * xs, size=(4, batches, depth)).astype(np.float32)
        out.append(Case(f"float_fc_b{batches}_d{depth}_o{out_depth}_{k}", model, inputs))
    for k in range(4):
        shape = tuple(int(d) for d in rng.integers(1, 6, size=int(rng.integers(1, 5))))
        scale, zp = random_scale(rng, 1e-3, 0.5), _zero_point(rng)
        inputs = rng.uniform(-300 * scale, 300 * scale, size=(3, *shape)).astype(np.float32)
        add = k % 2 == 1
        out.append(Case(f"round_trip{'_add' if add else ''}_{list(shape)}_{k}".replace(" ", ""),
                        round_trip_model(shape, scale, zp, add, rng), inputs))
    return out
