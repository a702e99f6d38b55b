"""`ulab-ml fit` predicts what the emulated boards then do: a model it says fits a board's heap
in a weights mode loads and runs there, and one it says does not fit is rejected. Each model
and mode gets a fresh boot, as a user's board running one model would (a failed load can
leave its big blocks pinned by stale pointers on the C stack until the next reset)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from tests.conftest import ROOT, SHARED_MODELS
from ulab_ml_host.blob import parse_blob
from ulab_ml_host.convert import convert
from ulab_ml_host.fit import fit_report, load_board
from ulab_ml_host.targets import Job, ModelRejected, run_jobs

MODELS = ["mlperf_kws_dscnn/kws_ref_model.tflite", "mlperf_vww_mobilenet/vww_96_int8.tflite",
          "tflm_person_detection/person_detect.tflite", "mlperf_ad_fc_autoencoder/ad01_int8.tflite",
          "mlperf_ic_resnet8/pretrainedResnet_quant.tflite", "tflm_micro_speech/micro_speech_quantized.tflite"]


@pytest.mark.parametrize("board", ["qemu-m0", "qemu-m3", "qemu-m4"])
def test_fit_predicts_the_board(board: str) -> None:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}")
    b = load_board(board)
    jobs, predictions = [], []
    for name in MODELS:
        blob = convert((SHARED_MODELS / name).read_bytes()).blob
        pb = parse_blob(blob)
        rep = fit_report(pb, b)
        x = np.zeros((1, *pb.input.shape), dtype=pb.input.dtype)
        for mode in ("stream", "inplace"):
            jobs.append(Job(blob, x, pb.output.dtype, tuple(pb.output.shape), mode))
            predictions.append((name, mode, rep["fits"][mode], rep["modes"][mode]["ram_bytes"]))
    results = []
    for job in jobs:
        results += run_jobs(board, [job])
    checked = 0
    for (name, mode, verdict, need), got in zip(predictions, results):
        if verdict == "tight":
            continue
        ran = isinstance(got, np.ndarray)
        assert ran == (verdict == "yes"), (f"{board} {name} weights {mode}: fit says {verdict} ({need} bytes), "
                                           f"but the board {'ran it' if ran else 'rejected it: ' + str(got)}")
        if not ran:
            assert isinstance(got, ModelRejected) and "MemoryError" in str(got)
        checked += 1
    assert checked >= len(predictions) // 2


def test_fit_cli_json() -> None:
    path = SHARED_MODELS / "mlperf_kws_dscnn/kws_ref_model.tflite"
    if not path.exists():
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}")
    proc = subprocess.run([str(ROOT / ".venv/bin/ulab-ml"), "fit", str(path), "--board", "rp2040", "--json",
                           "--instructions", "12500000"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert set(rep["fits"]) == {"ram", "inplace", "stream"} and rep["fits"]["stream"] == "yes"
    assert rep["estimated_ms_per_inference"] == 100.0
