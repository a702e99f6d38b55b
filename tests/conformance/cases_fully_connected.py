"""FULLY_CONNECTED cases: shapes, batches, per-tensor/per-channel weights, bias, activations."""

from __future__ import annotations

import numpy as np

from .builder import ACT, Case, ModelBuilder, options, random_int8, random_scale


def make(rng: np.random.Generator, batches: int, depth: int, out_depth: int, per_channel: bool,
         with_bias: bool, act: str, keep_dims_input: tuple[int, ...] | None = None) -> bytes:
    b = ModelBuilder()
    in_shape = keep_dims_input or (batches, depth)
    x_scale = random_scale(rng, 0.005, 0.1)
    x = b.tensor(in_shape, "int8", x_scale, int(rng.integers(-128, 128)))
    w_scales = ([random_scale(rng, 0.001, 0.05) for _ in range(out_depth)] if per_channel
                else random_scale(rng, 0.001, 0.05))
    w = b.tensor((out_depth, depth), "int8", w_scales, [0] * out_depth if per_channel else 0,
                 data=random_int8(rng, (out_depth, depth)))
    inputs = [x, w]
    if with_bias:
        bias_scale = x_scale * np.atleast_1d(w_scales).astype(np.float64)
        bias = rng.integers(-3000, 3000, size=out_depth).astype(np.int32)
        inputs.append(b.tensor((out_depth,), "int32", list(bias_scale) if per_channel else float(bias_scale[0]),
                               [0] * out_depth if per_channel else 0, data=bias))
    else:
        inputs.append(-1)
    n_out = int(np.prod(in_shape)) // depth
    # Output scale chosen so that the accumulator range maps roughly onto int8.
    y_scale = float(np.float32(x_scale * 0.02 * np.sqrt(depth) * 8))
    y = b.tensor((n_out, out_depth), "int8", y_scale, int(rng.integers(-20, 20)))
    b.op("FULLY_CONNECTED", inputs, [y], options("FullyConnectedOptionsT", fusedActivationFunction=ACT[act]))
    return b.build([x], [y])


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    acts = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
    for k in range(40):
        batches = int(rng.choice([1, 1, 2, 3]))
        depth = int(rng.integers(1, 80))
        out_depth = int(rng.integers(1, 40))
        per_channel = bool(k % 2)
        with_bias = k % 5 != 0
        act = acts[k % 4]
        model = make(rng, batches, depth, out_depth, per_channel, with_bias, act)
        n = 3
        inputs = random_int8(rng, (n, batches, depth))
        out.append(Case(f"b{batches}_d{depth}_o{out_depth}_{'pc' if per_channel else 'pt'}"
                        f"_{'bias' if with_bias else 'nobias'}_{act}_{k}", model, inputs))
    # Input of higher rank flattened into batches of depth.
    for k in range(4):
        depth = int(rng.integers(2, 12))
        shape = (1, 2, 3, depth)
        model = make(rng, 6, depth, 5, bool(k % 2), True, "NONE", keep_dims_input=shape)
        out.append(Case(f"rank4_d{depth}_{k}", model, random_int8(rng, (2,) + shape)))
    return out
