"""SOFTMAX cases: ranks 1-4, depths, beta, input scales from tiny to saturating, zero points,
and inputs with ties, constant rows and large spreads."""

from __future__ import annotations

import numpy as np

from .builder import Case, ModelBuilder, options, random_int8, random_scale


def make(shape: tuple[int, ...], x_scale: float, x_zp: int, beta: float) -> bytes:
    b = ModelBuilder()
    x = b.tensor(shape, "int8", x_scale, x_zp)
    y = b.tensor(shape, "int8", 1.0 / 256.0, -128)
    b.op("SOFTMAX", [x], [y], options("SoftmaxOptionsT", beta=float(np.float32(beta))))
    return b.build([x], [y])


def inputs(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> np.ndarray:
    """Random rows, plus rows with few distinct values (ties), a narrow spread and a constant."""
    xs = random_int8(rng, (n,) + shape)
    if n > 1:
        xs[1] = rng.choice(np.array([-128, -5, 0, 3, 127], dtype=np.int8), size=shape)
    if n > 2:
        base = int(rng.integers(-128, 120))
        xs[2] = (base + rng.integers(0, 8, size=shape)).astype(np.int8)
    if n > 3:
        xs[3] = np.int8(rng.integers(-128, 128))
    return xs


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    betas = [1.0, 1.0, 1.0, 0.5, 2.0, 0.1, 1.7]
    for k in range(32):
        rank = int(rng.integers(1, 5))
        depth = int(rng.choice([1, 2, 3, 10, 12, 17, 35, 64, 100, 250]))
        # at most ~1000 elements: the oracle's default arena holds input and output
        lead = [int(rng.integers(1, 4)) for _ in range(rank - 1)]
        while int(np.prod(lead)) * depth > 1000:
            lead[int(np.argmax(lead))] -= 1
        shape = tuple(lead) + (depth,)
        x_scale = random_scale(rng, 0.005, 0.5)
        beta = betas[k % len(betas)]
        x_zp = int(rng.integers(-128, 128))
        out.append(Case(f"r{rank}_d{depth}_s{x_scale:.4g}_b{beta}_{k}",
                        make(shape, x_scale, x_zp, beta), inputs(rng, shape, 4)))
    # Extreme scalings: tiny beta * scale (wide input radius), saturated multiplier
    # (beta * scale >= 32: only the maximum survives), exact powers of two, beta * scale
    # just above 2^-26 (the smallest TFLite Micro accepts).
    extremes = [(2e-5, 1.0), (1e-4, 1.0), (0.0625, 1.0), (0.25, 1.0), (1.0, 1.0), (8.0, 1.0),
                (40.0, 1.0), (0.1, 400.0), (2e-8, 1.0), (0.1, 1e-3), (1.0, 1.6e-8)]
    for k, (x_scale, beta) in enumerate(extremes):
        shape = (2, int(rng.integers(2, 40)))
        out.append(Case(f"extreme_s{x_scale:g}_b{beta:g}_{k}", make(shape, x_scale, int(rng.integers(-128, 128)), beta),
                        inputs(rng, shape, 4)))
    # Typical classifier heads: one row of 2-1001 logits with the usual quantization. (TFLite
    # Micro aborts when the exps sum to 512 or more, so the widest head gets no near-constant row.)
    for k, depth in enumerate([2, 4, 12, 1001]):
        shape = (1, depth)
        model = make(shape, random_scale(rng, 0.05, 0.2), int(rng.integers(-30, 30)), 1.0)
        out.append(Case(f"head_d{depth}_{k}", model, inputs(rng, shape, 2 if depth > 500 else 4)))
    return out
