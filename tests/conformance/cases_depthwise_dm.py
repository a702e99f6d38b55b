"""DEPTHWISE_CONV_2D with depth multipliers that are multiples of 4 (the armv6m path of
dw_row_dm_m0), and 1 (dw3x3_run_m0's 3x3 windows with its v < 0 shortcut): large biases (most
accumulators past 2^15, as in tflm_person_detection's first layer), per-channel right shifts
from 1 to 12, output offsets at or above the activation's lower bound, several channel blocks
(more than 16 output channels), windows partly or wholly in the padding, dilations, strides and
batches. Expected outputs come from the TFLite Micro oracle."""

from __future__ import annotations

import numpy as np

from .builder import ACT, PAD, Case, ModelBuilder, options, random_int8, random_scale
from .cases_conv_2d import Spec


def dm_case(rng: np.random.Generator, label: str, batches: int, in_h: int, in_w: int, in_ch: int, dm: int,
            k_h: int, k_w: int, *, stride: tuple[int, int] = (1, 1), dil: tuple[int, int] = (1, 1),
            padding: str = "SAME", act: str = "NONE", x_zp: int | None = None, y_zp: int | None = None,
            bias_mag: int = 200_000, n: int = 2) -> Case:
    out_ch = in_ch * dm
    s = Spec(batches, in_h, in_w, in_ch, out_ch, k_h, k_w, stride_h=stride[0], stride_w=stride[1],
             dil_h=dil[0], dil_w=dil[1], padding=padding, act=act, depth_multiplier=dm)
    out_h, out_w = s.out_size()
    x_scale = random_scale(rng, 0.005, 0.05)
    y_scale = random_scale(rng, 0.01, 0.1)
    # Effective multipliers x_scale * w_scale / y_scale from 2^-12 to just under 2^-1 (right
    # shifts 12 down to 1); channel 0 in [2^-2, 2^-1) (shift 1).
    eff = np.exp2(rng.uniform(-12.0, -1.05, size=out_ch))
    eff[0] = 2.0 ** rng.uniform(-1.95, -1.05)
    w_scales = [float(np.float32(m * y_scale / x_scale)) for m in eff]
    x_zp = int(rng.integers(-128, 128)) if x_zp is None else x_zp
    y_zp = int(rng.integers(-128, 128)) if y_zp is None else y_zp
    b = ModelBuilder()
    x = b.tensor((batches, in_h, in_w, in_ch), "int8", x_scale, x_zp, name="input")
    w_data = rng.integers(-128, 128, size=(1, k_h, k_w, out_ch), dtype=np.int8)
    w = b.tensor((1, k_h, k_w, out_ch), "int8", w_scales, [0] * out_ch, data=w_data, quantized_dimension=3)
    bias = rng.integers(-bias_mag, bias_mag + 1, size=out_ch).astype(np.int32)
    bias_t = b.tensor((out_ch,), "int32", [x_scale * ws for ws in w_scales], [0] * out_ch, data=bias)
    y = b.tensor((batches, out_h, out_w, out_ch), "int8", y_scale, y_zp)
    b.op("DEPTHWISE_CONV_2D", [x, w, bias_t], [y],
         options("DepthwiseConv2DOptionsT", depthMultiplier=dm, padding=PAD[padding], strideH=stride[0],
                 strideW=stride[1], dilationHFactor=dil[0], dilationWFactor=dil[1],
                 fusedActivationFunction=ACT[act]))
    inputs = random_int8(rng, (n, batches, in_h, in_w, in_ch))
    return Case(f"{s.tag()}_zx{x_zp}_zy{y_zp}_{label}", b.build([x], [y]), inputs)


def cases(rng: np.random.Generator) -> list[Case]:
    out = [
        # tflm_person_detection's first layer, smaller: 1 channel, multiplier 8, 3x3 stride 2.
        dm_case(rng, "person", 1, 14, 14, 1, 8, 3, 3, stride=(2, 2), act="RELU6", x_zp=-1, y_zp=-128),
        dm_case(rng, "person_odd", 1, 13, 11, 1, 8, 3, 3, stride=(2, 2), act="RELU6", x_zp=-1, y_zp=-128),
        # Output offset above the lower bound (no shortcut for v <= 0), and at it without activation.
        dm_case(rng, "dm4_none", 1, 9, 7, 3, 4, 3, 3, y_zp=40),
        dm_case(rng, "dm4_floor", 1, 7, 9, 2, 4, 3, 3, y_zp=-128),
        # Three groups per input channel, 24 and 48 channels (blocks start inside a channel's groups).
        dm_case(rng, "dm12", 1, 6, 6, 2, 12, 3, 3, act="RELU", y_zp=-100),
        dm_case(rng, "dm12_c4", 1, 5, 4, 4, 12, 2, 3, stride=(2, 1), act="RELU6"),
        dm_case(rng, "dm16_valid", 2, 7, 6, 3, 16, 2, 2, stride=(2, 2), dil=(2, 2), padding="VALID"),
        # Windows wholly in the padding (2 taps 5 apart on 3 pixels).
        dm_case(rng, "empty", 1, 3, 3, 2, 8, 2, 2, dil=(5, 5), y_zp=-20),
        # Extreme input zero points (large accumulators), a 5x5 and a 10x8 filter.
        dm_case(rng, "zx_min", 1, 8, 8, 1, 4, 5, 5, x_zp=-128, act="RELU", y_zp=-128, bias_mag=1000),
        dm_case(rng, "zx_max", 1, 8, 8, 2, 4, 5, 5, x_zp=127, y_zp=-5, bias_mag=50_000),
        dm_case(rng, "speech", 1, 13, 10, 1, 8, 10, 8, stride=(2, 2), act="RELU", y_zp=-128),
        # Huge biases (sums near the int32 range) and tiny ones.
        dm_case(rng, "bias_huge", 1, 5, 5, 1, 8, 3, 3, bias_mag=2_000_000_000, y_zp=0),
        dm_case(rng, "bias_tiny", 1, 5, 5, 2, 4, 3, 3, bias_mag=3, act="RELU6", y_zp=-128),
        # Depth multiplier 1, 3x3 windows: v < 0 with out_off at lo (RELU6, RELU) and above it.
        dm_case(rng, "dm1_relu6", 1, 7, 6, 8, 1, 3, 3, act="RELU6", y_zp=-128),
        dm_case(rng, "dm1_relu", 1, 6, 5, 12, 1, 3, 3, stride=(2, 2), act="RELU", y_zp=-60),
        dm_case(rng, "dm1_none", 1, 5, 7, 4, 1, 3, 3, y_zp=-90),
        dm_case(rng, "dm1_small", 1, 6, 6, 16, 1, 3, 3, act="RELU6", y_zp=-128, bias_mag=2000),
        # More channels than one requantization block (32): runs of pixels per block.
        dm_case(rng, "dm1_blocks", 2, 6, 7, 40, 1, 3, 3, act="RELU6", y_zp=-128),
        dm_case(rng, "dm1_blocks_s2", 1, 7, 8, 36, 1, 3, 3, stride=(2, 2), y_zp=30),
        dm_case(rng, "dm1_blocks_k2", 1, 5, 6, 34, 1, 2, 2, padding="VALID", act="RELU", y_zp=-128),
    ]
    # Random sweep.
    for k in range(10):
        dm = int(rng.choice([4, 8, 12, 16, 32]))
        in_ch = int(rng.choice([1, 1, 2, 3]))
        act = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][k % 4]
        while True:
            stride = (int(rng.choice([1, 2, 3])), int(rng.choice([1, 2, 3])))
            dil = (int(rng.choice([1, 1, 2])), int(rng.choice([1, 1, 2])))
            padding = str(rng.choice(["SAME", "VALID"]))
            in_h, in_w, k_h, k_w = (int(v) for v in rng.integers(1, 9, size=4))
            k_h, k_w = min(k_h, 5), min(k_w, 5)
            s = Spec(1, in_h, in_w, in_ch, in_ch * dm, k_h, k_w, stride_h=stride[0], stride_w=stride[1],
                     dil_h=dil[0], dil_w=dil[1], padding=padding)
            if min(s.out_size()) >= 1:
                break
        y_zp = -128 if k % 3 == 0 else None
        out.append(dm_case(rng, f"r{k}", int(rng.choice([1, 2])), in_h, in_w, in_ch, dm, k_h, k_w, stride=stride,
                           dil=dil, padding=padding, act=act, y_zp=y_zp,
                           bias_mag=int(rng.choice([3000, 60_000, 300_000]))))
    return out
