"""The oracle: TensorFlow Lite Micro's reference interpreter (PyPI tflite-micro).

It runs in child processes: TFLM can abort the whole process in Prepare on some valid
models, which must read as "no oracle" for that model, never as a pass or a crash of ours.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WORKER = r"""
import pickle, sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
jobs = pickle.load(open(sys.argv[1], "rb"))
start = int(sys.argv[2])
out = open(sys.argv[3], "ab")
for k in range(start, len(jobs)):
    model, inputs = jobs[k]
    pickle.dump((k, "start"), out); out.flush()
    try:
        it = runtime.Interpreter.from_bytes(model, arena_size=8 << 20)
        res = []
        for x in inputs:
            it.set_input(np.ascontiguousarray(x), 0)
            it.invoke()
            res.append(np.array(it.get_output(0)).copy())
        pickle.dump((k, np.stack(res)), out)
    except Exception as e:
        pickle.dump((k, "oracle error: %s: %s" % (type(e).__name__, e)), out)
    out.flush()
"""


class NoOracle(str):
    """Why TFLM could not give an answer for a case."""


def run_oracle(jobs: list[tuple[bytes, np.ndarray]]) -> list[np.ndarray | NoOracle]:
    """Run each (tflite bytes, inputs (N, *shape)) job on TFLM; outputs (N, *out_shape)."""
    results: dict[int, np.ndarray | NoOracle] = {}
    with tempfile.TemporaryDirectory(prefix="ulab_ml_oracle_") as tmp:
        jobs_path = Path(tmp) / "jobs.pkl"
        out_path = Path(tmp) / "out.pkl"
        jobs_path.write_bytes(pickle.dumps(jobs))
        start = 0
        while start < len(jobs):
            proc = subprocess.run([sys.executable, "-c", WORKER, str(jobs_path), str(start), str(out_path)],
                                  capture_output=True, text=True)
            last_started = start
            with open(out_path, "rb") as f:
                while True:
                    try:
                        k, v = pickle.load(f)
                    except EOFError:
                        break
                    if isinstance(v, str) and v == "start":
                        last_started = k
                    elif isinstance(v, str):
                        results[k] = NoOracle(v)
                    else:
                        results[k] = v
            if proc.returncode == 0 and len(results) >= len(jobs):
                break
            if last_started not in results:
                results[last_started] = NoOracle(
                    f"TFLM process died (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
            start = last_started + 1
    return [results.get(k, NoOracle("no result")) for k in range(len(jobs))]
