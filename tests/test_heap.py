"""Heap use of the on-device API, measured on the boards (issue 4).

(a) infer() allocates nothing, on qemu-m0 and qemu-m4, in every weights mode (ram, inplace,
    stream from the ROMFS image, stream from the board's littlefs), for int8 and float models,
    with and without out=: with the GC disabled, gc.mem_alloc() and gc.mem_free() move by
    exactly as much across a loop of 200 infer() calls as across the same loop run 0 times
    (so whatever the measuring code itself does cancels out), and so does
    micropython.mem_total() (bytes ever allocated: it also sees a block allocated and freed
    at once) where the firmware has it. The loop also runs with the heap locked. (The unix
    port's version is tests/test_api.py::test_infer_allocates_nothing.)
(b) What Model.load keeps, measured with gc.mem_alloc() (GC disabled during the load, then one
    collection with the model alive), on the unix port and on qemu-m0 (and qemu-m4), against
    blob.ram_per_mode, the figure `ulab-ml inspect --json` reports as ram_bytes:
    measured <= reported, and reported - measured is exactly the stated allowance (the backend
    name counted at its longest, the streamed file's object counted as littlefs's on an
    RP2040; docs/MEMORY.md, "What Model.load allocates"). close() gives every byte back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.bench.layers import small_model
from tests.conformance.cases_fully_connected import make as make_fc
from tests.conformance.cases_quantize import float_fc_model
from tests.conftest import ROOT
from tests.device import run_micropython
from tests.qemu_script import run_module
from ulab_ml_host.blob import BACKEND_NAME_MAX, STREAM_FILE_BYTES_32BIT, parse_blob, ram_per_mode
from ulab_ml_host.convert import convert

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"
N_CALLS = 200
MODES = ("ram", "inplace", "stream", "stream-lfs")  # stream-lfs: the model file on littlefs
# File objects of the filesystems measured here (bytes as allocated, before block rounding):
# VfsRom (ROMFS) 4 words; the unix port's VfsPosix file 2 words (8-byte words); littlefs v2 on
# the QEMU boards (default 128-byte cache) a 124-byte object plus the cache.
ROMFS_FILE_BYTES = 16
UNIX_FILE_BYTES = 16
QEMU_LFS_FILE_BYTES = 124 + 128
BACKEND = {"qemu-m0": "native-armv6m", "qemu-m4": "native-armv7emsp", "unix": "native-x64"}


def _models() -> dict[str, bytes]:
    rng = np.random.default_rng(4)
    return {
        "small.uml": convert(small_model()).blob,                               # 5 ops, rank-4 input
        "fc.uml": convert(make_fc(rng, 1, 32, 10, True, True, "NONE")).blob,    # 1 op
        "float.uml": convert(float_fc_model(rng, 1, 16, 4)[0]).blob,            # float32 in and out
        "waveform.uml": convert((ROOT / "examples/waveform/waveform.tflite").read_bytes()).blob,
    }


# Runs on the board. Per model and mode one line:
# Device side, shared by both probes: (allocated with the GC off, kept, left after close()).
LOAD_PROBE = """
def load(src, mode):
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    m = Model.load(src, mode)
    a1 = gc.mem_alloc()
    gc.enable()
    gc.collect()
    a2 = gc.mem_alloc()
    m.close()
    m = None
    gc.collect()
    return a1 - a0, a2 - a0, gc.mem_alloc() - a0
"""

# HEAP <model> <mode> <Model.mode> <load: allocated with GC off> <load: kept> <after close()>
#      <mem_alloc: loop of 0, loop of N> <mem_free: 0, N> <mem_total: 0, N (-1: none)>
#      <the same six for infer(x) without out=> <heap-locked loop ok> <output hex>
PROBE = """
import gc
import os
import micropython
from array import array
from binascii import hexlify
from ulab_ml import Model

MT = getattr(micropython, "mem_total", None)


def loop_out(m, x, y, n):
    for i in range(n):
        m.infer(x, out=y)


def loop_own(m, x, y, n):
    for i in range(n):
        m.infer(x)


def deltas(f, m, x, y, n):
    f(m, x, y, 3)  # warm up: the first calls fill MicroPython's attribute caches
    gc.collect()
    gc.disable()
    a0 = gc.mem_alloc()
    f0 = gc.mem_free()
    t0 = MT() if MT else 0
    f(m, x, y, 0)
    a1 = gc.mem_alloc()
    f1 = gc.mem_free()
    t1 = MT() if MT else 0
    f(m, x, y, n)
    a2 = gc.mem_alloc()
    f2 = gc.mem_free()
    t2 = MT() if MT else 0
    gc.enable()
    if not MT:
        t0 = t1 = t2 = -1
    return "%d %d %d %d %d %d" % (a1 - a0, a2 - a1, f1 - f0, f2 - f1, t1 - t0, t2 - t1)


""" + LOAD_PROBE + """

def one(name, mode, n):
    path = "/rom/" + name
    f = src = None
    if mode == "inplace":
        f = open(path, "rb")
        src = memoryview(f)
    elif mode == "stream-lfs":
        with open(path, "rb") as r:
            with open("/" + name, "wb") as w:
                w.write(memoryview(r))
        src = "/" + name
    else:
        src = path
    lmode = "stream" if mode == "stream-lfs" else mode
    total, kept, closed = load(src, lmode)
    m = Model.load(src, lmode)
    if m.input_dtype == "float32":
        x = array("f", [0.25 * (i % 7) - 0.75 for i in range(m.input_bytes // 4)])
    else:
        x = bytearray((37 * i + 11) & 0xFF for i in range(m.input_bytes))
    y = array("f" if m.output_dtype == "float32" else "b", bytes(m.output_bytes))
    with_out = deltas(loop_out, m, x, y, n)
    own = deltas(loop_own, m, x, y, n)
    micropython.heap_lock()
    try:
        loop_out(m, x, y, n)
        loop_own(m, x, y, n)
        locked = 1
    except MemoryError:
        locked = 0
    micropython.heap_unlock()
    out = hexlify(bytes(y)).decode()
    m_mode = m.mode
    m.close()
    m = x = y = src = None
    if f is not None:
        f.close()
        f = None
    if mode == "stream-lfs":
        os.remove("/" + name)
    print("HEAP", name, mode, m_mode, total, kept, closed, with_out, own, locked, out)


def run(names, modes, n):
    import ulab_ml
    ulab_ml._backend()
    for name in names:
        for mode in modes:
            one(name, mode, n)
    print("HEAP-DONE")
"""


def _parse(lines: list[str]) -> dict[tuple[str, str], dict]:
    assert lines and lines[-1] == "HEAP-DONE", lines[-5:]
    out = {}
    for line in lines:
        p = line.split()
        if p[0] != "HEAP":
            continue
        v = [int(t) for t in p[4:20]]
        out[(p[1], p[2])] = {"mode": p[3], "total": v[0], "kept": v[1], "closed": v[2],
                             "with_out": v[3:9], "own": v[9:15], "locked": v[15], "out": p[20]}
    return out


_BOOTS: dict[str, dict[tuple[str, str], dict]] = {}


def board_run(target: str) -> dict[tuple[str, str], dict]:
    """One boot of `target`: every model in every mode (cached for this test session)."""
    if target not in _BOOTS:
        models = _models()
        lines = run_module(target, PROBE, f"probe.run({sorted(models)!r}, {list(MODES)!r}, {N_CALLS})", models)
        _BOOTS[target] = _parse(lines)
    return _BOOTS[target]


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m4"])
def test_infer_allocates_nothing_on_qemu(target: str) -> None:
    res = board_run(target)
    assert set(res) == {(name, mode) for name in _models() for mode in MODES}
    for (name, mode), r in res.items():
        assert r["mode"] == mode.replace("-lfs", ""), (name, mode, r["mode"])
        for variant in ("with_out", "own"):
            a0, an, f0, fn, t0, tn = r[variant]
            where = f"{target} {name} weights {mode}, {N_CALLS} x infer({variant})"
            assert an == a0, f"{where}: gc.mem_alloc() grew by {an} bytes (a loop of 0 calls: {a0})"
            assert fn == f0, f"{where}: gc.mem_free() changed by {fn} bytes (a loop of 0 calls: {f0})"
            assert t0 >= 0, f"{target}: the firmware has micropython.mem_total"  # MICROPY_MEM_STATS
            assert tn == t0, f"{where}: {tn} bytes allocated (a loop of 0 calls: {t0})"
        assert r["locked"] == 1, f"{target} {name} weights {mode}: infer() raised MemoryError with the heap locked"
    # Same outputs in every weights mode (the models ran, on the same input).
    for name in _models():
        assert len({res[(name, mode)]["out"] for mode in MODES}) == 1, (target, name)


def _check_kept(target: str, name: str, mode: str, kept: int, reported: dict[str, int], file_bytes: int,
                reported_file_bytes: int = STREAM_FILE_BYTES_32BIT, word_bytes: int = 4) -> None:
    """measured <= reported, and the difference is exactly the stated allowance. file_bytes: the
    file object of the filesystem measured; reported_file_bytes: the one the figure counts."""
    block = 4 * word_bytes

    def blocks(n: int) -> int:
        return -(-n // block) * block

    # The backend name is counted at its longest (plus the terminating NUL).
    allowance = blocks(BACKEND_NAME_MAX + 1) - blocks(len(BACKEND[target]) + 1)
    if mode.startswith("stream"):  # the figure's file object vs the one measured
        allowance += blocks(reported_file_bytes) - blocks(file_bytes)
    want = reported[mode.replace("-lfs", "")]
    assert kept <= want, f"{target} {name} weights {mode}: Model.load keeps {kept} bytes, reported {want}"
    assert want - kept == allowance, (f"{target} {name} weights {mode}: reported {want}, kept {kept}: "
                                      f"differ by {want - kept}, the stated allowance is {allowance}")


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m4"])
def test_load_keeps_what_inspect_reports_on_qemu(target: str, tmp_path: Path) -> None:
    res = board_run(target)
    for name, blob in _models().items():
        path = tmp_path / name
        path.write_bytes(blob)
        proc = subprocess.run([str(ULAB_ML), "inspect", str(path), "--json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        reported = json.loads(proc.stdout)["ram_bytes"]
        assert reported == ram_per_mode(parse_blob(blob))
        files = {"ram": 0, "inplace": 0, "stream": ROMFS_FILE_BYTES, "stream-lfs": QEMU_LFS_FILE_BYTES}
        for mode in MODES:
            r = res[(name, mode)]
            _check_kept(target, name, mode, r["kept"], reported, files[mode])
            assert r["closed"] == 0, f"{target} {name} weights {mode}: close() left {r['closed']} bytes"
            assert r["total"] >= r["kept"]


UNIX_PROBE = """
import gc
from ulab_ml import Model
import ulab_ml
ulab_ml._backend()


""" + LOAD_PROBE + """

for name in NAMES:
    data = open(name, "rb").read()
    for mode in ("ram", "inplace", "stream"):
        print("LOAD", name, mode, *load(data if mode == "inplace" else name, mode))
"""


def test_load_keeps_what_the_formula_says_on_unix(tmp_path: Path) -> None:
    """The unix port is 64-bit: the same formula with 8-byte words (32-byte GC blocks and a
    152-byte engine state) must match it to the byte."""
    models = _models()
    for name, blob in models.items():
        (tmp_path / name).write_bytes(blob)
    proc = run_micropython(f"NAMES = {sorted(models)!r}\n" + UNIX_PROBE, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("LOAD ")]
    assert len(rows) == 3 * len(models)
    for _, name, mode, total, kept, closed in rows:
        reported = ram_per_mode(parse_blob(models[name]), word_bytes=8, file_object_bytes=UNIX_FILE_BYTES)
        _check_kept("unix", name, mode, int(kept), reported, UNIX_FILE_BYTES, UNIX_FILE_BYTES, word_bytes=8)
        assert int(closed) == 0 and int(total) >= int(kept)
