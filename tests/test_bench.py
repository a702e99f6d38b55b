"""`ulab-ml bench`: instruction counts under QEMU -icount are exact and deterministic.

(a) Converting counter ticks to instructions is exact for every phase of the counter (the
    reason no phase-locking is needed: more than 2 ticks per instruction).
(b) On qemu-m0 and qemu-m4, two runs of `ulab-ml bench --json` on a small model print the same
    numbers; the JSON has the keys other tools read; the per-layer figures add up to the total
    within the stated error bound (the accounting residual is 0).
Speed goals are not asserted here: docs/BENCHMARKS.md (scripts/bench_report.py) reports them.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from tests.bench.layers import small_model
from tests.conftest import ROOT, build_qemu_boards
from ulab_ml_host import bench

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"


@pytest.mark.parametrize("machine", sorted(bench.COUNTERS))
def test_ticks_to_instructions_is_exact_at_every_phase(machine: str) -> None:
    counter = bench.COUNTERS[machine]
    ns_per_insn = 2**bench.ICOUNT_SHIFT
    tick_ns = Fraction(10**9, counter.hz)
    assert bench.ticks_per_instruction(counter) > 2
    for n in (0, 1, 2, 3, 7, 100, 12_345, 10**9 + 7):
        for phase in range(0, 400, 7):  # virtual ns of the first read
            ticks = int((phase + n * ns_per_insn) // tick_ns) - int(phase // tick_ns)
            assert bench.ticks_to_instructions(ticks, counter) == n, (machine, n, phase)


@pytest.fixture(scope="module")
def built() -> None:
    build_qemu_boards("qemu-m0", "qemu-m4")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("bench") / "small.tflite"
    p.write_bytes(small_model())
    return p


def _bench_json(model: Path, target: str) -> dict:
    proc = subprocess.run([str(ULAB_ML), "bench", str(model), "--target", target, "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m4"])
def test_bench_is_deterministic_and_adds_up(built: None, model_path: Path, target: str) -> None:
    first = _bench_json(model_path, target)
    second = _bench_json(model_path, target)
    assert first == second, "two runs of ulab-ml bench printed different numbers"

    r = first
    assert r["error"] is None
    assert isinstance(r["instructions"], int) and r["instructions"] > 0
    assert isinstance(r["load_instructions"], int) and r["load_instructions"] > 0
    ops = [layer["op"] for layer in r["layers"]]
    assert ops == ["CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    for layer in r["layers"]:
        assert {"op", "macs", "instructions"} <= set(layer)
        assert isinstance(layer["instructions"], int)
    assert r["layers"][0]["macs"] == 8 * 8 * 4 * 3 * 3 * 2
    assert r["layers"][2]["instructions"] == 0  # a RESHAPE the planner aliased: no work
    assert r["layers"][0]["instructions"] > r["layers"][3]["instructions"]  # conv 4608 MACs vs FC 12

    # Per-layer sum vs total: total = layers + fixed infer() cost + ops x per-op dispatch, with
    # every count exact (error bound 0), so the residual is 0.
    assert r["error_bound_instructions"] == 0
    n = len(r["layers"])
    assert r["layers_sum"] == sum(layer["instructions"] for layer in r["layers"])
    assert r["instructions"] - r["layers_sum"] == r["overhead_instructions"]
    assert r["residual_instructions"] == 0
    assert r["instructions"] == r["layers_sum"] + r["call_instructions"] + n * r["dispatch_instructions"]
    assert 0 < r["overhead_instructions"] < 0.5 * r["instructions"]
    # The kernel alone (no input copy) is cheaper than op 0 with its copy.
    assert 0 < r["layers"][0]["kernel_instructions"] < r["layers"][0]["instructions"]
