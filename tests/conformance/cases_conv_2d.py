"""CONV_2D cases: shapes, kernel sizes, strides, SAME/VALID padding, dilations, activations,
per-tensor/per-channel weights, bias present/absent, zero points and requantization ranges
(down- and up-scaling). Also holds the model builder DEPTHWISE_CONV_2D cases share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .builder import ACT, PAD, Case, ModelBuilder, options, random_int8, random_scale

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


@dataclass
class Spec:
    """One convolution (CONV_2D, or DEPTHWISE_CONV_2D when depth_multiplier is set)."""
    batches: int
    in_h: int
    in_w: int
    in_ch: int
    out_ch: int                       # conv: filters; depthwise: in_ch * depth_multiplier
    k_h: int
    k_w: int
    stride_h: int = 1
    stride_w: int = 1
    dil_h: int = 1
    dil_w: int = 1
    padding: str = "SAME"
    act: str = "NONE"
    per_channel: bool = True
    bias: bool = True
    omit_bias: bool = False           # without bias: 2 inputs instead of bias index -1
    depth_multiplier: int | None = None
    out_scale_factor: float = 1.0     # multiplies the output scale that fits the accumulators
    weight_range: tuple[int, int] = (-128, 128)
    filter_zero_point: int = 0        # per-tensor only; TFLM ignores it
    bias_qdim: int = 0                # quantized_dimension written on the bias (not checked)
    x_zero_point: int | None = None
    y_zero_point: int | None = None
    input_spread: int | None = None   # inputs within x_zero_point +- spread (small accumulators)
    extra: dict[str, int] = field(default_factory=dict)

    def out_size(self) -> tuple[int, int]:
        def one(n: int, k: int, s: int, d: int) -> int:
            eff = (k - 1) * d + 1
            return -(-n // s) if self.padding == "SAME" else -(-(n - eff + 1) // s)
        return (one(self.in_h, self.k_h, self.stride_h, self.dil_h),
                one(self.in_w, self.k_w, self.stride_w, self.dil_w))

    def tag(self) -> str:
        kind = f"dm{self.depth_multiplier}" if self.depth_multiplier else f"o{self.out_ch}"
        return (f"b{self.batches}_{self.in_h}x{self.in_w}x{self.in_ch}_{kind}_k{self.k_h}x{self.k_w}"
                f"_s{self.stride_h}{self.stride_w}_d{self.dil_h}{self.dil_w}_{self.padding}_{self.act}"
                f"_{'pc' if self.per_channel else 'pt'}{'' if self.bias else '_nobias'}")


def build(rng: np.random.Generator, s: Spec) -> tuple[bytes, int]:
    """The .tflite model and its input zero point."""
    depthwise = s.depth_multiplier is not None
    b = ModelBuilder()
    if depthwise:
        w_shape: tuple[int, ...] = (1, s.k_h, s.k_w, s.out_ch)
        depth = s.k_h * s.k_w
        qdim = 3
    else:
        w_shape = (s.out_ch, s.k_h, s.k_w, s.in_ch)
        depth = s.k_h * s.k_w * s.in_ch
        qdim = 0
    if s.per_channel:
        w_scales: float | list[float] = [random_scale(rng, 0.001, 0.05) for _ in range(s.out_ch)]
        w_zp: int | list[int] = [0] * s.out_ch
    else:
        w_scales = random_scale(rng, 0.001, 0.05)
        w_zp = s.filter_zero_point
    w_sc = np.atleast_1d(np.asarray(w_scales, dtype=np.float64))
    # Output/input scale ratio chosen so that typical accumulators map roughly onto int8.
    w_mag = max(1.0, (s.weight_range[1] - s.weight_range[0]) / 3.5)
    acc_typical = np.sqrt(depth) * w_mag * 74.0
    ratio = float(np.mean(w_sc)) * acc_typical / 50.0 * s.out_scale_factor
    if s.act == "RELU_N1_TO_1":    # keep [-1, 1] many quantization steps wide
        y_scale = random_scale(rng, 0.006, 0.02)
        x_scale = float(np.float32(y_scale / ratio))
    elif s.act == "RELU6":
        y_scale = random_scale(rng, 0.02, 0.08)
        x_scale = float(np.float32(y_scale / ratio))
    else:
        x_scale = random_scale(rng, 0.005, 0.1)
        y_scale = float(np.float32(x_scale * ratio))
    x_zp = int(rng.integers(-128, 128)) if s.x_zero_point is None else s.x_zero_point
    x = b.tensor((s.batches, s.in_h, s.in_w, s.in_ch), "int8", x_scale, x_zp, name="input")
    w_data = rng.integers(s.weight_range[0], s.weight_range[1], size=w_shape, dtype=np.int8)
    w = b.tensor(w_shape, "int8", w_scales, w_zp, data=w_data, quantized_dimension=qdim if s.per_channel else 0)
    inputs = [x, w]
    if s.bias:
        bias_scale = x_scale * w_sc
        bias_mag = int(2 * acc_typical) + 1 if s.input_spread is None else 4
        bias = rng.integers(-bias_mag, bias_mag, size=s.out_ch).astype(np.int32)
        inputs.append(b.tensor((s.out_ch,), "int32", list(bias_scale) if s.per_channel else float(bias_scale[0]),
                               [0] * len(bias_scale) if s.per_channel else 0, data=bias,
                               quantized_dimension=s.bias_qdim))
    elif not (s.omit_bias or depthwise):
        # TFLM's DEPTHWISE_CONV_2D crashes in Prepare on a -1 bias index, so depthwise cases
        # always omit the input.
        inputs.append(-1)
    y_zp = int(rng.integers(-40, 40)) if s.y_zero_point is None else s.y_zero_point
    out_h, out_w = s.out_size()
    y = b.tensor((s.batches, out_h, out_w, s.out_ch), "int8", y_scale, y_zp)
    common = dict(padding=PAD[s.padding], strideH=s.stride_h, strideW=s.stride_w, dilationHFactor=s.dil_h,
                  dilationWFactor=s.dil_w, fusedActivationFunction=ACT[s.act])
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", inputs, [y],
             options("DepthwiseConv2DOptionsT", depthMultiplier=s.depth_multiplier, **common))
    else:
        b.op("CONV_2D", inputs, [y], options("Conv2DOptionsT", **common))
    return b.build([x], [y]), x_zp


def make_case(rng: np.random.Generator, s: Spec, label: str, n: int = 2) -> Case:
    model, x_zp = build(rng, s)
    shape = (n, s.batches, s.in_h, s.in_w, s.in_ch)
    if s.input_spread is None:
        inputs = random_int8(rng, shape)
    else:
        near = x_zp + rng.integers(-s.input_spread, s.input_spread + 1, size=shape)
        inputs = np.clip(near, -128, 127).astype(np.int8)
    return Case(f"{s.tag()}_{label}", model, inputs)


def random_window(rng: np.random.Generator, s: Spec) -> Spec:
    """Random strides/dilations/padding that give a non-empty output for s's input size."""
    while True:
        s.stride_h, s.stride_w = (int(v) for v in rng.choice([1, 1, 2, 3], size=2))
        s.dil_h, s.dil_w = (int(v) for v in rng.choice([1, 1, 1, 2, 3], size=2))
        s.padding = str(rng.choice(["SAME", "VALID"]))
        if min(s.out_size()) >= 1:
            return s


def cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # Random sweep.
    for k in range(34):
        s = Spec(batches=int(rng.choice([1, 1, 1, 2])), in_h=int(rng.integers(1, 10)), in_w=int(rng.integers(1, 10)),
                 in_ch=int(rng.choice([1, 2, 3, 4, 8, 13])), out_ch=int(rng.integers(1, 9)),
                 k_h=int(rng.integers(1, 6)), k_w=int(rng.integers(1, 6)),
                 act=ACTS[k % 4], per_channel=k % 3 != 0, bias=k % 5 != 4, omit_bias=k % 10 == 9,
                 out_scale_factor=float(2.0 ** rng.uniform(-2, 2)))
        out.append(make_case(rng, random_window(rng, s), f"r{k}"))
    # Shapes from real models: KWS first layer (10x4 on one channel), 1x1 pointwise, 3x3 stride 2.
    out.append(make_case(rng, Spec(1, 49, 10, 1, 8, 10, 4, 2, 2, padding="SAME", act="RELU"), "kws"))
    out.append(make_case(rng, Spec(1, 6, 6, 16, 12, 1, 1, act="RELU6"), "pointwise"))
    out.append(make_case(rng, Spec(1, 12, 12, 3, 8, 3, 3, 2, 2, padding="SAME", act="RELU6"), "mobilenet_first"))
    out.append(make_case(rng, Spec(1, 9, 9, 4, 4, 3, 3, 2, 2, padding="VALID"), "valid_s2"))
    # Requantization extremes: multiplier > 1 (positive shift), heavy saturation, tiny scale.
    out.append(make_case(rng, Spec(1, 4, 4, 2, 3, 2, 2, weight_range=(-3, 4), out_scale_factor=0.02,
                                   input_spread=1), "upscale"))
    out.append(make_case(rng, Spec(1, 4, 4, 1, 3, 1, 1, weight_range=(-1, 2), out_scale_factor=0.3), "upscale2"))
    out.append(make_case(rng, Spec(1, 5, 5, 3, 4, 3, 3, out_scale_factor=0.05, per_channel=False), "saturate"))
    out.append(make_case(rng, Spec(1, 5, 5, 3, 4, 3, 3, out_scale_factor=30.0), "coarse"))
    # Zero-point extremes (input offset +128, output zero point at the ends of int8).
    out.append(make_case(rng, Spec(1, 5, 4, 3, 3, 3, 3, x_zero_point=-128, y_zero_point=-128, act="RELU"), "zp_ext1"))
    out.append(make_case(rng, Spec(1, 5, 4, 3, 3, 3, 3, x_zero_point=127, y_zero_point=127), "zp_ext2"))
    # Large dilations and strides relative to the input (most taps in the padding).
    out.append(make_case(rng, Spec(1, 7, 8, 2, 3, 3, 3, 1, 1, 3, 4, padding="SAME"), "dil_pad"))
    out.append(make_case(rng, Spec(2, 8, 7, 2, 3, 2, 3, 3, 2, 2, 1, padding="VALID", act="RELU_N1_TO_1"), "dil_valid"))
    # A deep filter (long accumulation).
    out.append(make_case(rng, Spec(1, 3, 3, 64, 4, 3, 3, act="NONE"), "deep"))
    # Per-tensor weights with a (TFLM-ignored) nonzero filter zero point.
    out.append(make_case(rng, Spec(1, 4, 4, 2, 3, 3, 3, per_channel=False, filter_zero_point=5), "filter_zp"))
    # Bias with malformed quantization metadata (as in tflm_person_detection).
    out.append(make_case(rng, Spec(1, 5, 5, 2, 4, 3, 3, bias_qdim=7), "bias_qdim"))
    return out
