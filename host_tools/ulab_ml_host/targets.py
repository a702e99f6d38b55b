"""Run models on a target through the on-device ulab_ml API (stage: execute, host side).

All jobs of one call run in a single target process (one MicroPython process for the unix
port), each model loaded with Model.load and run with Model.infer.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON, natmod_path

TARGETS = ("unix", "qemu-m0", "qemu-m3", "qemu-m4")

# Runs on the board. Jobs: (model path, input path, output path, count, weights mode).
DEVICE_RUNNER = """
import sys
from array import array
from ulab_ml import Model
def run_job(k, model_path, in_path, out_path, n, mode=None):
    try:
        if mode == "inplace":
            with open(model_path, "rb") as f:
                m = Model.load(f.read(), "inplace")
        else:
            m = Model.load(model_path, mode)
    except Exception as e:
        print("ULML-ERR", k, type(e).__name__, e)
        return
    if m.input_dtype == "float32":
        inbuf = array("f", bytes(m.input_bytes))
    else:
        inbuf = bytearray(m.input_bytes)
    try:
        with open(in_path, "rb") as fi:
            with open(out_path, "wb") as fo:
                for i in range(n):
                    fi.readinto(inbuf)
                    fo.write(m.infer(inbuf))
    except Exception as e:
        print("ULML-ERR", k, type(e).__name__, e)
        return
    m.close()
    print("ULML-OK", k)
"""


class TargetError(RuntimeError):
    """The target process died (signal, fault, timeout). exit_code 3 in the CLI."""


class ModelRejected(ValueError):
    """The device rejected the model or input with an exception (exit code 2 in the CLI)."""


@dataclass
class Job:
    blob: bytes
    inputs: np.ndarray      # (N, *input_shape), int8 or float32
    output_dtype: str       # "int8" or "float32"
    output_shape: tuple[int, ...]
    mode: str | None = None  # weights mode for Model.load: None (automatic), ram, stream, inplace
    name: str | None = None  # the model's file name on a serial-port board (serial_target)


def _ensure_built() -> None:
    if not UNIX_MICROPYTHON.exists() or not natmod_path("x64").exists():
        raise TargetError("the MicroPython unix port or the x64 native module is not built: "
                          "run scripts/setup.sh")


def target_timeout() -> float:
    """Seconds a target process may run before it counts as hung (ULAB_ML_TARGET_TIMEOUT)."""
    return float(os.environ.get("ULAB_ML_TARGET_TIMEOUT", "600"))


def run_unix(jobs: list[Job], timeout: float | None = None) -> list[np.ndarray | ModelRejected]:
    timeout = target_timeout() if timeout is None else timeout
    _ensure_built()
    with tempfile.TemporaryDirectory(prefix="ulab_ml_run_") as tmp:
        d = Path(tmp)
        lines = [DEVICE_RUNNER]
        for k, job in enumerate(jobs):
            (d / f"m{k}.uml").write_bytes(job.blob)
            raw = np.ascontiguousarray(job.inputs).astype(job.inputs.dtype.newbyteorder("<")).tobytes()
            (d / f"i{k}.bin").write_bytes(raw)
            lines.append(f"run_job({k}, {str(d / f'm{k}.uml')!r}, {str(d / f'i{k}.bin')!r}, "
                         f"{str(d / f'o{k}.bin')!r}, {len(job.inputs)}, {job.mode!r})")
        lines.append("print('ULML-DONE')")
        script = d / "runner.py"
        script.write_text("\n".join(lines) + "\n")
        env = dict(os.environ, MICROPYPATH=f"{DEVICE_PACKAGE.parent}:{NATMOD_DIR}")
        try:
            proc = subprocess.run([str(UNIX_MICROPYTHON), "-X", "heapsize=64M", str(script)],
                                  capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise TargetError(f"target hung: no answer after {timeout:g} s") from exc
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            raise TargetError(f"MicroPython process died with signal {name}")
        if proc.returncode != 0 or "ULML-DONE" not in proc.stdout:
            raise TargetError(f"MicroPython failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}"
                              f"{proc.stdout.strip()[-2000:]}")
        status: dict[int, str] = {}
        for line in proc.stdout.splitlines():
            parts = line.split(" ", 2)
            if parts[0] == "ULML-OK":
                status[int(parts[1])] = ""
            elif parts[0] == "ULML-ERR":
                status[int(parts[1])] = parts[2] if len(parts) > 2 else "error"
        results: list[np.ndarray | ModelRejected] = []
        for k, job in enumerate(jobs):
            if status.get(k, "missing") != "":
                results.append(ModelRejected(status.get(k, "no result")))
                continue
            dt = np.dtype(job.output_dtype).newbyteorder("<")
            out = np.frombuffer((d / f"o{k}.bin").read_bytes(), dtype=dt)
            results.append(out.reshape((len(job.inputs),) + tuple(job.output_shape)).astype(job.output_dtype))
        return results


def run_jobs(target: str, jobs: list[Job]) -> list[np.ndarray | ModelRejected]:
    if target == "unix":
        return run_unix(jobs)
    if target.startswith("qemu-") and target in TARGETS:
        from .qemu import run_qemu  # boards/qemu-*: MicroPython on QEMU, one boot per batch

        return run_qemu(target, jobs)
    from .serial_target import is_serial_port, run_serial  # a real board: --target /dev/ttyACM0, COM3

    if is_serial_port(target):
        return run_serial(target, jobs)
    raise ValueError(f"unknown target {target!r} (known: {', '.join(TARGETS)}, or a board's serial port)")
