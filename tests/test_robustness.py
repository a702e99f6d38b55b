"""Robustness on the unix port: corrupt models through Model.load + infer, Ctrl-C during
infer, a native module of the wrong architecture, and `ulab-ml run` exit statuses."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conftest import ROOT, SEED, SHARED_MODELS
from tests.device import run_micropython
from tests.test_engine_host import fix_crc, mutate
from ulab_ml_host.convert import convert
from ulab_ml_host.paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"


def model_blobs() -> list[bytes]:
    rng = np.random.default_rng(SEED)
    blobs = [convert(make_fc(rng, 1, 20, 6, True, True, "RELU")).blob]
    for name in ("emlearn_mnist_cnn/mnist_cnn_int8.tflite", "mlperf_kws_dscnn/kws_ref_model.tflite"):
        path = SHARED_MODELS / name
        if path.exists():
            blobs.append(convert(path.read_bytes()).blob)
    return blobs


MUTATION_SCRIPT = """
import os
from ulab_ml import Model
counts = {'rejected': 0, 'ran': 0, 'loaded_raw': 0}
names = sorted(os.listdir('.'))
for name in names:
    if not name.endswith('.uml'):
        continue
    try:
        m = Model.load(name)
    except (ValueError, MemoryError) as e:
        counts['rejected'] += 1
        continue
    if name.startswith('raw'):
        counts['loaded_raw'] += 1
    x = bytes(m.input_bytes) if m.input_dtype == 'int8' else None
    if x is not None:
        m.infer(x)
    counts['ran'] += 1
    m.close()
print(counts['rejected'], counts['ran'], counts['loaded_raw'])
"""


def test_corrupt_models_through_the_device_api(tmp_path: Path) -> None:
    """Thousands of seeded corrupt blobs: raw ones are all rejected with an exception; ones
    with a recomputed CRC are rejected or run; the MicroPython process never dies."""
    rng = np.random.default_rng([SEED, 7])
    blobs = model_blobs()
    n = 0
    for b, blob in enumerate(blobs):
        for k in range(2400 // len(blobs)):
            data = mutate(blob, rng, k % 4)
            if data == blob:
                continue
            crc_fixed = k % 3 == 0
            if crc_fixed:
                data = fix_crc(data)
            (tmp_path / f"{'crc' if crc_fixed else 'raw'}{b}_{k}.uml").write_bytes(data)
            n += 1
    proc = run_micropython(MUTATION_SCRIPT, cwd=tmp_path, heapsize="16M")
    assert proc.returncode == 0, proc.stderr[-3000:]
    rejected, ran, loaded_raw = map(int, proc.stdout.split())
    assert rejected + ran == n
    assert loaded_raw == 0
    assert rejected > 0.6 * n


def test_keyboard_interrupt_during_infer_leaves_model_usable(tmp_path: Path) -> None:
    b = make_fc(np.random.default_rng(2), 64, 512, 256, True, True, "NONE")  # ~8 M MACs per infer
    (tmp_path / "m.uml").write_bytes(convert(b).blob)
    script = """
import sys
from ulab_ml import Model
m = Model.load('m.uml')
x = bytes(range(256)) * 128
ref = bytes(m.infer(x))
print('ready')
try:
    while True:
        m.infer(x)
except KeyboardInterrupt:
    print('interrupted')
print('same', bytes(m.infer(x)) == ref)
"""
    env = dict(os.environ, MICROPYPATH=f"{DEVICE_PACKAGE.parent}:{NATMOD_DIR}")
    proc = subprocess.Popen([str(UNIX_MICROPYTHON), "-c", script], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split() == ["interrupted", "same", "True"]


def test_wrong_architecture_native_module_is_named(tmp_path: Path) -> None:
    arm = NATMOD_DIR / "ulab_ml_armv6m.mpy"
    if not arm.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), "armv6m"], check=True)
    lib = tmp_path / "lib"
    lib.mkdir()
    shutil.copytree(DEVICE_PACKAGE, lib / "ulab_ml")
    shutil.copy(arm, lib / "ulab_ml_x64.mpy")  # an ARM module where the x64 one should be
    env = dict(os.environ, MICROPYPATH=str(lib))
    proc = subprocess.run([str(UNIX_MICROPYTHON), "-c",
                           "from ulab_ml import Model\ntry:\n    Model.load(b'')\nexcept ImportError as e:\n"
                           "    print(e)"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "native module ulab_ml_x64.mpy is not loadable" in proc.stdout
    assert "arch x64, which this firmware needs" in proc.stdout


def test_run_exit_statuses(tmp_path: Path) -> None:
    (tmp_path / "m.tflite").write_bytes(make_fc(np.random.default_rng(4), 1, 8, 3, False, True, "NONE"))
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8), dtype=np.int8))
    args = [str(ULAB_ML), "run", str(tmp_path / "m.tflite"), "--target", "unix", "--input",
            str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")]
    ok = subprocess.run(args, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert np.load(tmp_path / "y.npy").shape == (2, 1, 3)
    (tmp_path / "bad.uml").write_bytes(b"ULML" + bytes(100))
    bad = subprocess.run([*args[:2], str(tmp_path / "bad.uml"), *args[3:]], capture_output=True, text=True)
    assert bad.returncode == 2 and "CRC" in bad.stderr
    hung = subprocess.run(args, capture_output=True, text=True,
                          env=dict(os.environ, ULAB_ML_TARGET_TIMEOUT="0.001"))
    assert hung.returncode == 3 and "target hung" in hung.stderr
