"""Randomized per-op conformance: every generated case must equal TFLite Micro bit for bit.

Each tests/conformance/cases_<op>.py module defines cases(rng) -> list[Case]. All cases are
converted, run through the ulab_ml API in ONE MicroPython process per target -- the unix port
(x64 native module), qemu-m0 (Cortex-M0, armv6m), qemu-m3 (Cortex-M3, armv7m) and qemu-m4
(Cortex-M4F, armv7emsp) -- and on
the TFLM oracle in child processes (once); each case on each target is one test item.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SEED
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import NoOracle, run_oracle
from ulab_ml_host.targets import Job, ModelRejected, run_jobs

from .builder import Case

HERE = Path(__file__).parent


def _collect() -> list[Case]:
    cases: list[Case] = []
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda i: i.name):
        if not info.name.startswith("cases_"):
            continue
        mod = importlib.import_module(f"tests.conformance.{info.name}")
        rng = np.random.default_rng([SEED, zlib.crc32(info.name.encode())])
        for c in mod.cases(rng):
            c.name = f"{info.name[6:]}/{c.name}"
            cases.append(c)
    return cases


CASES = _collect()


TARGETS = ["unix", "qemu-m0", "qemu-m3", "qemu-m4"]
# Weights mode per target (default: automatic). qemu-m3 (armv7m) has 60 KB of heap, too little
# for the largest cases' weights in RAM or a stream buffer: there they stay in flash, in place.
MODES = {"qemu-m3": "inplace"}


@pytest.fixture(scope="module")
def oracle() -> dict[str, object]:
    return dict(zip([c.name for c in CASES], run_oracle([(c.model, c.inputs) for c in CASES])))


@pytest.fixture(scope="module", params=TARGETS)
def results(request: pytest.FixtureRequest, oracle: dict[str, object]) -> dict[str, tuple[object, object]]:
    """name -> (ours, oracle) for every case on one target."""
    target = request.param
    jobs: list[Job] = []
    converted: dict[str, object] = {}
    for c in CASES:
        try:
            conv = convert(c.model)
        except Exception as exc:  # reported per case below
            converted[c.name] = exc
            continue
        converted[c.name] = conv
    job_names = [c.name for c in CASES if not isinstance(converted[c.name], Exception)]
    by_name = {c.name: c for c in CASES}
    for name in job_names:
        conv = converted[name]
        out = conv.model.tensors[conv.model.outputs[0]]
        jobs.append(Job(conv.blob, by_name[name].inputs, out.dtype, out.shape, mode=MODES.get(target)))
    ours = dict(zip(job_names, run_jobs(target, jobs)))
    return {c.name: (converted[c.name] if c.name not in ours else ours[c.name], oracle[c.name])
            for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, results: dict[str, tuple[object, object]]) -> None:
    ours, expected = results[case.name]
    if isinstance(expected, NoOracle):
        pytest.skip(f"no oracle: {expected}")
    if isinstance(ours, Exception):
        raise AssertionError(f"conversion or device error: {ours}") from (
            None if isinstance(ours, ModelRejected) else ours)
    assert isinstance(ours, np.ndarray) and isinstance(expected, np.ndarray)
    expected = expected.reshape(ours.shape)
    if not np.array_equal(ours, expected):
        diff = np.argwhere(ours != expected)
        first = tuple(diff[0])
        raise AssertionError(f"{len(diff)} of {ours.size} elements differ; first at {first}: "
                             f"ours {ours[first]} vs TFLM {expected[first]}")


def test_enough_cases() -> None:
    assert len(CASES) >= 500, f"only {len(CASES)} conformance cases generated"
