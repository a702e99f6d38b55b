"""`ulab-ml bench --mode`: the streamed mode's extra cost per inference on qemu-m0.

For a small self-generated model: `--mode stream` prints the same numbers on two runs; its
infer() costs more instructions than with the weights in place (every call reads the weights
from the file); the bytes it reads per inference and its buffer are what `ulab-ml inspect`
reports; `--mode ram` measures per layer and adds up exactly, as in place does.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.bench.layers import small_model
from tests.conftest import ROOT

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("bench_stream") / "small.tflite"
    p.write_bytes(small_model())
    return p


def _bench(model: Path, mode: str) -> dict:
    proc = subprocess.run([str(ULAB_ML), "bench", str(model), "--target", "qemu-m0", "--mode", mode, "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def test_streamed_bench_is_deterministic_and_costs_more(model_path: Path) -> None:
    first = _bench(model_path, "stream")
    second = _bench(model_path, "stream")
    assert first == second, "two runs of ulab-ml bench --mode stream printed different numbers"
    inplace = _bench(model_path, "inplace")
    info = json.loads(subprocess.run([str(ULAB_ML), "inspect", str(model_path), "--json"],
                                     capture_output=True, text=True, check=True).stdout)

    s = first
    assert s["error"] is None and s["weights_mode"] == "stream"
    assert inplace["error"] is None and inplace["weights_mode"] == "inplace"
    assert s["stream_bytes_per_inference"] == info["stream_bytes_per_inference"] > 0
    assert s["stream_buffer_bytes"] == info["stream_buffer_bytes"]
    assert inplace["stream_bytes_per_inference"] is None
    assert isinstance(s["instructions"], int) and isinstance(inplace["instructions"], int)
    # Reading 164 bytes of weights in 3 pieces through littlefs costs something, but much
    # less than the model itself.
    assert inplace["instructions"] < s["instructions"] < 2 * inplace["instructions"]
    assert s["layers"] == [] and s["layers_sum"] is None  # no per-layer run in streamed mode
    assert s["load_instructions"] > inplace["load_instructions"]  # the file is read and checked


def test_ram_mode_bench_adds_up(model_path: Path) -> None:
    r = _bench(model_path, "ram")
    assert r["error"] is None and r["weights_mode"] == "ram"
    assert [layer["op"] for layer in r["layers"]] == ["CONV_2D", "AVERAGE_POOL_2D", "RESHAPE",
                                                      "FULLY_CONNECTED", "SOFTMAX"]
    assert r["residual_instructions"] == 0
    n = len(r["layers"])
    assert r["instructions"] == r["layers_sum"] + r["call_instructions"] + n * r["dispatch_instructions"]


def test_shared_models_stream_in_bench() -> None:
    """The two RP2040-sized shared models whose streamed load needs nearly all of qemu-m0's heap
    (weights buffer and arena: 133 KB of VWW's 145 KB free) are measured in one call: each
    streamed model gets its own boot and is loaded before the calibration."""
    from tests.conftest import SHARED_MODELS
    from ulab_ml_host import bench
    from ulab_ml_host.blob import parse_blob
    from ulab_ml_host.convert import convert

    names = ["tflm_person_detection", "mlperf_vww_mobilenet"]
    paths = [next((SHARED_MODELS / n).glob("*.tflite"), None) for n in names]
    if None in paths:
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}; the streamed bench of "
                    f"{', '.join(names)} was not run")
    blobs = [convert(p.read_bytes()).blob for p in paths]
    results = bench.bench_models("qemu-m0", list(zip(names, blobs)), mode="stream")
    for name, blob, r in zip(names, blobs, results):
        assert r.error is None, f"{name}: {r.error}"
        assert r.weights_mode == "stream"
        b = parse_blob(blob)
        assert r.stream_buffer_bytes == max(256, b.max_const_span)
        assert r.stream_bytes_per_inference == sum(op.const_span[1] for op in b.ops)
        assert isinstance(r.instructions, int) and r.instructions > r.macs
