"""The ulab-ml CLI contract: convert, inspect --json, verify."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conftest import ROOT, SHARED_MODELS
from ulab_ml_host import cli
from ulab_ml_host.targets import Job

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"


@pytest.fixture(scope="module")
def fc_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("cli") / "fc.tflite"
    p.write_bytes(make_fc(np.random.default_rng(11), 1, 24, 6, True, True, "RELU"))
    return p


def test_inspect_json_contract(fc_path: Path) -> None:
    proc = subprocess.run([str(ULAB_ML), "inspect", str(fc_path), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    for key in ("ops", "arena_bytes", "weights_bytes", "blob_bytes", "macs", "ram_bytes"):
        assert key in info
    assert info["ops"][0]["op"] == "FULLY_CONNECTED"
    assert info["ops"][0]["inputs"] == [[1, 24]] and info["ops"][0]["output"] == [1, 6]
    assert info["macs"] == 24 * 6
    assert set(info["ram_bytes"]) == {"ram", "inplace", "stream"}


def test_convert_writes_a_blob_inspect_reads(fc_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.uml"
    proc = subprocess.run([str(ULAB_ML), "convert", str(fc_path), "-o", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:4] == b"ULML"
    info = json.loads(subprocess.run([str(ULAB_ML), "inspect", str(out), "--json"], capture_output=True,
                                     text=True).stdout)
    assert info["blob_bytes"] == out.stat().st_size


@pytest.mark.parametrize("name,expected", [
    ("audio_preprocessor_int8.tflite", ["CUSTOM:SignalWindow", "CUSTOM:SignalRfft", "CAST", "STRIDED_SLICE"]),
    ("tflm_keyword_scrambled/keyword_scrambled_8bit.tflite", ["SVDF", "int16"]),
])
def test_convert_refuses_shared_unsupported_models(name: str, expected: list[str], tmp_path: Path) -> None:
    src = SHARED_MODELS / "unsupported" / name
    if not src.exists():
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}")
    proc = subprocess.run([str(ULAB_ML), "convert", str(src), "-o", str(tmp_path / "x.uml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    for word in expected:
        assert word in proc.stderr
    assert not (tmp_path / "x.uml").exists()


def test_verify_bit_exact(fc_path: Path) -> None:
    proc = subprocess.run([str(ULAB_ML), "verify", str(fc_path), "--target", "unix", "--count", "5"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("bit-exact: 5 inputs on unix")


def test_verify_reports_first_difference(fc_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    real = cli.run_jobs

    def off_by_one_at_3(target: str, jobs: list[Job]) -> list:
        (out,) = real(target, jobs)
        out = out.copy()
        out[1, 0, 3] = np.int8(out[1, 0, 3] ^ 1)
        return [out]

    monkeypatch.setattr(cli, "run_jobs", off_by_one_at_3)
    assert cli.main(["verify", str(fc_path), "--count", "4"]) == 1
    line = capsys.readouterr().out
    assert line.startswith("DIFFERS: 1 of 24 output values differ on unix; first at input 1, index [0, 3]")
