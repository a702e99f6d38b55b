"""`ulab-ml fit --board B` estimates latency from instructions it counts itself: `ulab-ml bench` on
the QEMU board of B's architecture (board.json bench_target), at B's clock. The instruction
figure it prints is exactly what `ulab-ml bench --json` reports for the same model and board;
--instructions overrides it and --no-measure skips it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.bench.layers import small_model
from tests.conftest import ROOT, build_qemu_boards
from ulab_ml_host.fit import load_board

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"
ESTIMATE = re.compile(r"^  latency estimate: ([\d.]+) ms per inference \((\d+) instructions per inference, "
                      r"counted by ulab-ml bench on (qemu-m\d), at ([\d.]+) MHz assuming one instruction per "
                      r"cycle: an estimate from an instruction count, not measured cycles\)$", re.M)


@pytest.fixture(scope="module")
def built() -> None:
    build_qemu_boards("qemu-m0", "qemu-m4")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("fit") / "small.tflite"
    p.write_bytes(small_model())
    return p


def run(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(ULAB_ML), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def bench_instructions(model: Path, target: str) -> int:
    r = json.loads(run("bench", str(model), "--target", target, "--json").stdout)
    assert r["error"] is None and isinstance(r["instructions"], int) and r["instructions"] > 0, r
    return r["instructions"]


@pytest.mark.parametrize("board_name, target", [("rp2040", "qemu-m0"), ("stm32f7", "qemu-m4")])
def test_fit_counts_instructions_like_bench(built: None, model_path: Path, board_name: str, target: str) -> None:
    board = load_board(board_name)
    assert board.bench_target == target and board.clock_hz
    proc = run("fit", str(model_path), "--board", board_name)
    m = ESTIMATE.search(proc.stdout)
    assert m, proc.stdout
    ms, instructions, on, mhz = float(m[1]), int(m[2]), m[3], float(m[4])
    assert on == target and mhz == board.clock_hz / 1e6
    assert instructions == bench_instructions(model_path, target)
    assert ms == round(instructions / board.clock_hz * 1000, 2)

    rep = json.loads(run("fit", str(model_path), "--board", board_name, "--json").stdout)
    assert rep["instructions_per_inference"] == instructions
    assert rep["instructions_source"] == f"counted by ulab-ml bench on {target}"
    assert rep["estimated_ms_per_inference"] == ms


def test_fit_instructions_override_and_no_measure(model_path: Path) -> None:
    """Neither runs QEMU: --instructions is used as given, --no-measure gives no estimate."""
    given = run("fit", str(model_path), "--board", "rp2040", "--instructions", "12500000")
    assert "counting instructions" not in given.stderr
    assert ("  latency estimate: 100.0 ms per inference (12500000 instructions per inference, given with "
            "--instructions, at 125 MHz assuming one instruction per cycle") in given.stdout, given.stdout
    text = run("fit", str(model_path), "--board", "stm32f4", "--no-measure")
    assert "  latency: not estimated (--no-measure" in text.stdout and "latency estimate" not in text.stdout
    skipped = run("fit", str(model_path), "--board", "stm32f4", "--no-measure", "--json")
    assert "counting instructions" not in skipped.stderr
    rep = json.loads(skipped.stdout)
    assert "estimated_ms_per_inference" not in rep and rep["latency_note"].startswith("not estimated (--no-measure")
    assert set(rep["fits"]) == {"ram", "inplace", "stream"}
