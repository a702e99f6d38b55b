"""Robustness on an emulated board: seeded corrupt models through Model.load + infer on
qemu-m0 (every raw mutation rejected with an exception, none crashes or hangs the board), and
a soak of 10,000 inferences on qemu-m4 with no heap growth."""

from __future__ import annotations

import numpy as np

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conftest import SEED
from tests.test_engine_host import fix_crc, mutate
from ulab_ml_host import qemu
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.targets import Job, ModelRejected, run_jobs


def test_corrupt_models_on_qemu_m0() -> None:
    rng = np.random.default_rng([SEED, 11])
    blob = convert(make_fc(rng, 1, 24, 8, True, True, "RELU")).blob
    x = rng.integers(-128, 128, size=(1, 1, 24), dtype=np.int8)
    jobs, raw = [], []
    for k in range(400):
        data = mutate(blob, rng, k % 4)
        if data == blob:
            continue
        crc_fixed = k % 5 == 0
        jobs.append(Job(fix_crc(data) if crc_fixed else data, x, "int8", (1, 8), "inplace"))
        raw.append(not crc_fixed)
    jobs.append(Job(blob, x, "int8", (1, 8), "inplace"))  # the board is still fine afterwards
    results = run_jobs("qemu-m0", jobs)  # a crash or hang of the board raises TargetError
    for is_raw, res in zip(raw, results[:-1]):
        if is_raw:
            assert isinstance(res, ModelRejected) and ("ValueError" in str(res) or "MemoryError" in str(res)), res
        else:
            assert isinstance(res, (ModelRejected, np.ndarray))
    assert sum(isinstance(r, ModelRejected) for r in results[:-1]) >= 0.6 * len(raw)
    assert isinstance(results[-1], np.ndarray)


def test_soak_10k_inferences_on_qemu_m4() -> None:
    rng = np.random.default_rng([SEED, 12])
    tflite = make_fc(rng, 1, 16, 4, True, True, "NONE")
    blob = convert(tflite).blob
    x = rng.integers(-128, 128, size=(10_000, 1, 16), dtype=np.int8)
    boots = len(qemu.last_boots)
    (ours,) = run_jobs("qemu-m4", [Job(blob, x, "int8", (1, 4), "ram")])
    (short,) = run_jobs("qemu-m4", [Job(blob, x[:100], "int8", (1, 4), "ram")])
    long_run, short_run = qemu.last_boots[boots], qemu.last_boots[boots + 1]
    (expected,) = run_oracle([(tflite, x)])
    assert isinstance(ours, np.ndarray) and isinstance(expected, np.ndarray)
    assert np.array_equal(ours, expected.reshape(ours.shape))
    assert isinstance(short, np.ndarray) and np.array_equal(short, ours[:100])
    # Heap left in use at the end of the boot (after the model is closed), relative to just
    # after importing ulab_ml: 10,000 inferences leave no more than 100 do, beyond a few
    # blocks of the runner's own bookkeeping (well under one byte per inference).
    kept_long = long_run.free_after_load - long_run.free_at_end
    kept_short = short_run.free_after_load - short_run.free_at_end
    assert kept_long - kept_short <= 64, (long_run, short_run)
