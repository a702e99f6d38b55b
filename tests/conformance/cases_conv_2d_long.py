"""CONV_2D with long windows (more than 64 values: 3x3 over 16 to 128 input channels, and past
it), the shapes of MLPerf Tiny's ResNet-8: the armv6m path that lays out 4 output pixels a chunk
of whole taps at a time (conv_taps_m0). Covers chunks of one and several taps, a last chunk
shorter than the others, several blocks of 32 output channels and a partial one, output pixel
counts that are not multiples of 4, windows partly in the padding, strides, dilations, batches,
in_ch not a multiple of 4, in_ch 128 and 129, out_ch 128 and 129, and short windows with more
than 32 output channels in rows of 4 pixels (this path) or not (conv_small_m0). Expected outputs
come from the TFLite Micro oracle."""

from __future__ import annotations

import numpy as np

from .builder import Case
from .cases_conv_2d import Spec, make_case


def cases(rng: np.random.Generator) -> list[Case]:
    specs = [
        ("resnet_s1", Spec(1, 6, 7, 16, 16, 3, 3, padding="SAME", act="RELU")),
        ("resnet_s2", Spec(1, 7, 7, 16, 32, 3, 3, 2, 2, padding="SAME", act="RELU")),
        ("resnet_c32", Spec(1, 5, 5, 32, 40, 3, 3, padding="SAME", act="NONE")),
        ("resnet_c64", Spec(1, 4, 3, 64, 67, 3, 3, padding="SAME", act="RELU")),
        ("valid_c24", Spec(2, 5, 6, 24, 5, 3, 3, padding="VALID", act="RELU6")),
        ("dil_c20", Spec(1, 7, 6, 20, 9, 3, 2, 1, 2, 2, 1, padding="SAME")),
        ("odd_c13", Spec(1, 5, 5, 13, 6, 3, 3, padding="SAME", act="RELU_N1_TO_1")),
        ("pw_c96", Spec(1, 3, 5, 96, 33, 1, 1)),
        ("c128", Spec(1, 3, 3, 128, 4, 2, 2, padding="SAME", act="RELU")),
        ("c129", Spec(1, 3, 3, 129, 4, 2, 2, padding="SAME", act="RELU")),
        ("k5_c8", Spec(1, 6, 6, 8, 3, 5, 5, padding="SAME", per_channel=False)),
        ("o128", Spec(1, 3, 3, 16, 128, 3, 3, padding="SAME", act="RELU")),
        ("o129", Spec(1, 3, 3, 16, 129, 3, 3, padding="SAME", act="RELU")),
        ("short_o40_w5", Spec(1, 5, 5, 8, 40, 1, 1, act="RELU")),
        ("short_o40_w4", Spec(1, 3, 4, 8, 40, 1, 1, act="RELU")),
        ("short_o40_w6_k3", Spec(1, 4, 6, 4, 40, 3, 3, padding="SAME")),
    ]
    return [make_case(rng, s, label) for label, s in specs]
