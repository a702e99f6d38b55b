"""DEPTHWISE_CONV_2D cases: shapes, depth multipliers (1..8), kernel sizes, strides, SAME/VALID
padding, dilations, activations, per-tensor/per-channel weights, bias present/absent, zero
points and requantization ranges."""

from __future__ import annotations

from typing import Any

import numpy as np

from .builder import Case
from .cases_conv_2d import ACTS, Spec, make_case, random_window


def dw(batches: int, in_h: int, in_w: int, in_ch: int, dm: int, k_h: int, k_w: int, **kw: Any) -> Spec:
    return Spec(batches, in_h, in_w, in_ch, in_ch * dm, k_h, k_w, depth_multiplier=dm, **kw)


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # Random sweep.
    for k in range(34):
        dm = int(rng.choice([1, 1, 1, 2, 3, 8]))
        s = dw(int(rng.choice([1, 1, 1, 2])), int(rng.integers(1, 11)), int(rng.integers(1, 11)),
               int(rng.choice([1, 2, 3, 4, 8, 16])), dm, int(rng.integers(1, 6)), int(rng.integers(1, 6)),
               act=ACTS[k % 4], per_channel=k % 3 != 0, bias=k % 5 != 4,
               out_scale_factor=float(2.0 ** rng.uniform(-2, 2)))
        out.append(make_case(rng, random_window(rng, s), f"r{k}"))
    # Shapes from real models: person_detection's first layer (1 channel, multiplier 8),
    # micro_speech (1 channel, multiplier 8, 10x8 stride 2), MobileNet/DS-CNN 3x3 layers.
    out.append(make_case(rng, dw(1, 12, 12, 1, 8, 3, 3, stride_h=2, stride_w=2, act="RELU6"), "person_first"))
    out.append(make_case(rng, dw(1, 49, 40, 1, 8, 10, 8, stride_h=2, stride_w=2, act="RELU"), "micro_speech"))
    out.append(make_case(rng, dw(1, 8, 8, 16, 1, 3, 3, act="RELU6"), "mobilenet_s1"))
    out.append(make_case(rng, dw(1, 9, 9, 8, 1, 3, 3, stride_h=2, stride_w=2, act="RELU6"), "mobilenet_s2"))
    out.append(make_case(rng, dw(1, 25, 5, 12, 1, 3, 3, act="RELU"), "dscnn"))
    # Requantization extremes.
    out.append(make_case(rng, dw(1, 4, 4, 3, 1, 1, 1, weight_range=(-1, 2), out_scale_factor=0.3), "upscale"))
    out.append(make_case(rng, dw(1, 5, 5, 2, 2, 3, 3, weight_range=(-4, 5), out_scale_factor=0.005,
                                 input_spread=1), "upscale_big"))
    out.append(make_case(rng, dw(1, 5, 5, 4, 1, 3, 3, out_scale_factor=0.05, per_channel=False), "saturate"))
    out.append(make_case(rng, dw(1, 5, 5, 4, 2, 3, 3, out_scale_factor=30.0), "coarse"))
    # Zero-point extremes.
    out.append(make_case(rng, dw(1, 5, 4, 3, 2, 3, 3, x_zero_point=-128, y_zero_point=-128, act="RELU"), "zp_ext1"))
    out.append(make_case(rng, dw(1, 5, 4, 3, 1, 3, 3, x_zero_point=127, y_zero_point=127), "zp_ext2"))
    # Dilations with most taps in the padding; VALID with dilation and stride.
    out.append(make_case(rng, dw(1, 7, 8, 2, 2, 3, 3, dil_h=3, dil_w=4), "dil_pad"))
    out.append(make_case(rng, dw(2, 8, 7, 3, 1, 2, 3, stride_h=3, stride_w=2, dil_h=2, padding="VALID",
                                 act="RELU_N1_TO_1"), "dil_valid"))
    # A large filter (long accumulation).
    out.append(make_case(rng, dw(1, 16, 16, 2, 1, 15, 15, padding="VALID"), "big_kernel"))
    # Per-tensor weights with a (TFLM-ignored) nonzero filter zero point.
    out.append(make_case(rng, dw(1, 4, 4, 3, 1, 3, 3, per_channel=False, filter_zero_point=-7), "filter_zp"))
    # Bias with malformed quantization metadata (as in tflm_person_detection).
    out.append(make_case(rng, dw(1, 5, 5, 4, 1, 3, 3, bias_qdim=3), "bias_qdim"))
    return out
