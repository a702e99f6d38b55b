"""Single-layer int8 models in the shapes of the CMSIS-NN anchor figures, for `ulab-ml bench`
and scripts/bench_report.py: per-channel weights, seeded random weights and quantization
(tests/conformance's builders), one model per layer."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tests.conformance.builder import ACT, PAD, ModelBuilder, options, random_int8, random_scale
from tests.conformance.cases_conv_2d import Spec
from tests.conformance.cases_conv_2d import build as build_conv
from tests.conformance.cases_fully_connected import make as make_fc
from tests.conformance.cases_pooling import make as make_pool
from tests.conformance.cases_softmax import make as make_softmax

SEED = 20261121


@dataclass(frozen=True)
class Layer:
    key: str
    title: str
    build: Callable[[np.random.Generator], bytes]


def _conv(spec: Spec) -> Callable[[np.random.Generator], bytes]:
    return lambda rng: build_conv(rng, spec)[0]


LAYERS: tuple[Layer, ...] = (
    Layer("conv1x1", "1x1 conv 25x5x64 -> 64",
          _conv(Spec(1, 25, 5, 64, 64, 1, 1, padding="SAME", act="RELU"))),
    Layer("conv3x3", "3x3 conv 32x32x16 -> 16, pad same",
          _conv(Spec(1, 32, 32, 16, 16, 3, 3, padding="SAME", act="RELU"))),
    Layer("dw3x3", "depthwise 3x3 25x5x64, pad same",
          _conv(Spec(1, 25, 5, 64, 64, 3, 3, padding="SAME", act="RELU", depth_multiplier=1))),
    Layer("fc640x128", "fully connected 640 -> 128",
          lambda rng: make_fc(rng, 1, 640, 128, True, True, "NONE")),
    Layer("fc128x10", "fully connected 128 -> 10",
          lambda rng: make_fc(rng, 1, 128, 10, True, True, "NONE")),
    Layer("avgpool", "average pool 25x5x64 -> 1x1x64",
          lambda rng: make_pool("AVERAGE_POOL_2D", (1, 25, 5, 64), (25, 5), (1, 1), "VALID", "NONE",
                                random_scale(rng, 0.01, 0.1), int(rng.integers(-128, 128)))),
    Layer("softmax12", "softmax, 12 classes",
          lambda rng: make_softmax((1, 12), random_scale(rng, 0.05, 0.2), int(rng.integers(-30, 30)), 1.0)),
)


def build_layers(seed: int = SEED) -> dict[str, bytes]:
    """key -> .tflite bytes, each layer from its own generator, seeded by (seed, the layer's key)."""
    return {layer.key: layer.build(np.random.default_rng([seed, zlib.crc32(layer.key.encode())]))
            for layer in LAYERS}


def small_model(seed: int = SEED) -> bytes:
    """A small 5-op model (CONV_2D, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX) for
    quick bench tests."""
    rng = np.random.default_rng([seed, 5])
    b = ModelBuilder()
    xs, ys = 0.02, 0.05
    x = b.tensor((1, 8, 8, 2), "int8", xs, -3)
    w_scales = [random_scale(rng, 0.005, 0.02) for _ in range(4)]
    w = b.tensor((4, 3, 3, 2), "int8", w_scales, [0] * 4, data=random_int8(rng, (4, 3, 3, 2)))
    bias = b.tensor((4,), "int32", [xs * s for s in w_scales], [0] * 4,
                    data=rng.integers(-500, 500, size=4).astype(np.int32))
    a = b.tensor((1, 8, 8, 4), "int8", ys, 5)
    b.op("CONV_2D", [x, w, bias], [a],
         options("Conv2DOptionsT", padding=PAD["SAME"], strideH=1, strideW=1, dilationHFactor=1,
                 dilationWFactor=1, fusedActivationFunction=ACT["RELU"]))
    p = b.tensor((1, 1, 1, 4), "int8", ys, 5)
    b.op("AVERAGE_POOL_2D", [a], [p], options("Pool2DOptionsT", padding=PAD["VALID"], strideH=1, strideW=1,
                                              filterHeight=8, filterWidth=8, fusedActivationFunction=0))
    r = b.tensor((1, 4), "int8", ys, 5)
    b.op("RESHAPE", [p], [r])
    fw = b.tensor((3, 4), "int8", 0.01, 0, data=random_int8(rng, (3, 4)))
    f = b.tensor((1, 3), "int8", 0.1, 0)
    b.op("FULLY_CONNECTED", [r, fw, -1], [f], options("FullyConnectedOptionsT", fusedActivationFunction=0))
    y = b.tensor((1, 3), "int8", 1.0 / 256.0, -128)
    b.op("SOFTMAX", [f], [y], options("SoftmaxOptionsT", beta=1.0))
    return b.build([x], [y])
