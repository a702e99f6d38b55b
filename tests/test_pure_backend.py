"""The pure-Python backend (ulab_ml/_pure.py) on the unix port with native loading disabled
(MICROPYPATH holds the ulab_ml package only, so the native module cannot be imported and
Model.load picks the pure backend by itself): bit-exact with TFLite Micro on every conformance
case and on the small shared golden models in all three weights modes, corrupt blobs rejected
with the native module's own messages (a seeded differential test over mutated blobs), and a
speed comparison with the native module (numbers in docs/PURE_PYTHON.md)."""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SEED, SHARED_MODELS
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import NoOracle, run_oracle
from ulab_ml_host.pack import blob_crc
from ulab_ml_host.paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON

PURE_PATH = str(DEVICE_PACKAGE.parent)                 # no natmod: the pure backend
BOTH_PATH = f"{DEVICE_PACKAGE.parent}:{NATMOD_DIR}"    # native module importable too
N_PROCS = 2

# Runs on the board: job k loads a model (mode: None/ram/stream/inplace), runs it on n inputs.
RUNNER = """
from array import array
from ulab_ml import Model
def run_job(k, model_path, in_path, out_path, n, mode=None):
    try:
        if mode == "inplace":
            with open(model_path, "rb") as f:
                m = Model.load(f.read(), "inplace")
        else:
            m = Model.load(model_path, mode)
        if m.input_dtype == "float32":
            inbuf = array("f", bytes(m.input_bytes))
        else:
            inbuf = bytearray(m.input_bytes)
        with open(in_path, "rb") as fi:
            with open(out_path, "wb") as fo:
                for i in range(n):
                    fi.readinto(inbuf)
                    fo.write(m.infer(inbuf))
        print("ULML-OK", k, m.backend, m.mode)
        m.close()
    except Exception as e:
        print("ULML-ERR", k, type(e).__name__, e)
"""


def micropython(script: str, path: str, cwd: Path) -> subprocess.Popen:
    """Start the unix port on script with MICROPYPATH=path."""
    (cwd / "script.py").write_text(script)
    env = dict(os.environ, MICROPYPATH=path)
    return subprocess.Popen([str(UNIX_MICROPYTHON), "-X", "heapsize=64M", "script.py"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


FALLBACK_NOTICE = "ulab_ml: native module ulab_ml_x64.mpy not found"


def finish(proc: subprocess.Popen, timeout: float = 170, keep_notice: bool = False) -> str:
    """The script's output, without the one-line notice ulab_ml prints when it falls back to
    the pure-Python backend (test_backend_is_python_without_native_module checks it)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, f"MicroPython failed (exit {proc.returncode}): {err[-3000:]}{out[-2000:]}"
    if keep_notice:
        return out
    return "".join(line for line in out.splitlines(keepends=True) if not line.startswith(FALLBACK_NOTICE))


def run_batches(jobs: list[tuple[bytes, np.ndarray, str | None]], path: str = PURE_PATH,
                procs: int = N_PROCS, preamble: str = "") -> list[tuple[str, object]]:
    """Run (blob, inputs (N, ...), mode) jobs split over `procs` MicroPython processes; per job
    ("python ram", raw output bytes) or ("ERR", message)."""
    with tempfile.TemporaryDirectory(prefix="ulab_ml_pure_") as tmp:
        d = Path(tmp)
        scripts: list[list[str]] = [[RUNNER + preamble] for _ in range(procs)]
        for k, (blob, x, mode) in enumerate(jobs):
            (d / f"m{k}.uml").write_bytes(blob)
            (d / f"i{k}.bin").write_bytes(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
            scripts[k % procs].append(f"run_job({k}, 'm{k}.uml', 'i{k}.bin', 'o{k}.bin', {len(x)}, {mode!r})")
        running = []
        for p, lines in enumerate(scripts):
            sub = d / f"p{p}"
            sub.mkdir()
            for k in range(p, len(jobs), procs):
                for name in (f"m{k}.uml", f"i{k}.bin"):
                    os.link(d / name, sub / name)
            running.append((sub, micropython("\n".join(lines) + "\nprint('ULML-DONE')\n", path, sub)))
        status: dict[int, tuple[str, object]] = {}
        for sub, proc in running:
            out = finish(proc)
            assert "ULML-DONE" in out, out[-2000:]
            for line in out.splitlines():
                parts = line.split(" ", 2)
                if parts[0] == "ULML-OK":
                    k = int(parts[1])
                    status[k] = (parts[2], (sub / f"o{k}.bin").read_bytes())
                elif parts[0] == "ULML-ERR":
                    status[int(parts[1])] = ("ERR", parts[2] if len(parts) > 2 else "")
        return [status.get(k, ("ERR", "no result")) for k in range(len(jobs))]


# ---------------------------------------------------------------- (a) conformance vs TFLM


# The convolutions' two evaluations: big-integer planes (the default where it pays) and the
# per-pixel loop (small outputs, and every case again with ulab_ml._pure.BIGINT = False).
LOOP_ONLY = "import ulab_ml._pure\nulab_ml._pure.BIGINT = False\n"


@pytest.fixture(scope="module")
def conformance() -> dict[str, tuple[object, object, object]]:
    """name -> (our (backend, bytes) or exception, oracle output, case) for every case; the
    convolution cases also as "<name>#loop", run with the big-integer evaluation off."""
    from tests.conformance.test_conformance import CASES

    jobs, names, convs = [], [], {}
    for c in CASES:
        try:
            conv = convert(c.model)
        except Exception as exc:  # noqa: BLE001 - reported per case below
            convs[c.name] = exc
            continue
        out = conv.model.tensors[conv.model.outputs[0]]
        convs[c.name] = (out.dtype, tuple(out.shape))
        jobs.append((conv.blob, c.inputs, None))
        names.append(c.name)
    ours = dict(zip(names, run_batches(jobs)))
    conv = [k for k, name in enumerate(names) if name.split("/")[0] in ("conv_2d", "depthwise_conv_2d")]
    loop = run_batches([jobs[k] for k in conv], preamble=LOOP_ONLY)
    oracle = run_oracle([(c.model, c.inputs) for c in CASES])
    res = {c.name: (ours.get(c.name, convs[c.name]), oracle[i], convs[c.name]) for i, c in enumerate(CASES)}
    for k, r in zip(conv, loop):
        name = names[k]
        res[name + "#loop"] = (r, res[name][1], res[name][2])
    return res


def test_conformance_bit_exact(conformance: dict[str, tuple[object, object, object]]) -> None:
    """Every conformance case (all ops, many configurations) equals TFLite Micro bit for bit."""
    compared, failures, backends = 0, [], set()
    for name, (ours, expected, conv) in conformance.items():
        if isinstance(expected, NoOracle) or isinstance(conv, Exception):
            continue  # test_conformance reports these for the native module
        backend, raw = ours
        if backend == "ERR":
            failures.append(f"{name}: {raw}")
            continue
        backends.add(backend)
        dtype, shape = conv
        got = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(expected.shape)
        if not np.array_equal(got, expected):
            diff = np.argwhere(got != expected)
            failures.append(f"{name}: {len(diff)} of {got.size} differ; first at {tuple(diff[0])}: "
                            f"ours {got[tuple(diff[0])]} vs TFLM {expected[tuple(diff[0])]}")
        compared += 1
    assert not failures, f"{len(failures)} cases differ:\n" + "\n".join(failures[:20])
    assert compared >= 500 + 100, f"only {compared} cases compared"
    assert backends == {"python ram"}, backends


# ---------------------------------------------------------------- (b) shared golden models

GOLDEN_MODELS = ["tflm_hello_world", "tflm_micro_speech", "emlearn_mnist_cnn", "mlperf_ad_fc_autoencoder"]


def test_golden_models_bit_exact_in_every_mode() -> None:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"shared model suite not found at {SHARED_MODELS}")
    jobs, names, expected = [], [], []
    for model in GOLDEN_MODELS:
        gdir = SHARED_MODELS / model / "golden"
        meta = json.loads((gdir / "golden.json").read_text())
        blob = convert((gdir.parent / meta["model"]).read_bytes()).blob
        for case in meta["cases"]:
            x = np.frombuffer((gdir / case["input_file"]).read_bytes(), dtype=meta["input"]["dtype"])
            want = (gdir / case["output_file"]).read_bytes()
            for mode in ("ram", "inplace", "stream"):
                jobs.append((blob, x.reshape(tuple(meta["input"]["shape"]))[None], mode))
                names.append(f"{model}/{case['case']}/{mode}")
                expected.append(want)
    results = run_batches(jobs)
    failures = []
    for name, (status, raw), want in zip(names, results, expected):
        mode = name.rsplit("/", 1)[1]
        if status != f"python {mode}":
            failures.append(f"{name}: {status} {raw}")
        elif raw != want:
            failures.append(f"{name}: output differs from the golden file")
    assert not failures, "\n".join(failures)
    assert len(names) >= 3 * 10, names


# ---------------------------------------------------------------- (c) corrupt blobs

LOAD_ALL = """
from ulab_ml import Model
def attempt(name, backend, mode):
    try:
        m = Model.load(name, mode, backend)
    except Exception as e:
        msg = str(e)
        if ', ' in msg and msg.endswith(' bytes free'):  # free heap differs between backends
            msg = msg[:msg.rindex(', ')]
        return type(e).__name__ + ': ' + msg
    try:
        if m.arena_size > 65536:
            return 'loaded ' + m.backend
        x = bytearray(m.input_bytes)
        for i in range(len(x)):
            x[i] = (i * 59 + 7) & 255
        y = m.infer(x) if m.input_dtype == 'int8' else None
        return 'ran ' + (bytes(y).hex() if y is not None else '')
    except Exception as e:
        return 'infer ' + type(e).__name__ + ': ' + str(e)
for name in NAMES:
    for backend in BACKENDS:
        for mode in ('ram', 'stream'):
            print(name, backend, mode, '|' + attempt(name, backend, mode))
print('REPL still alive')
"""


def load_all(tmp_path: Path, blobs: dict[str, bytes], backends: tuple[str, ...],
             path: str) -> dict[tuple[str, str, str], str]:
    for name, data in blobs.items():
        (tmp_path / f"{name}.uml").write_bytes(data)
    script = (f"NAMES = {[f'{n}.uml' for n in sorted(blobs)]!r}\nBACKENDS = {backends!r}\n" + LOAD_ALL)
    out = finish(micropython(script, path, tmp_path))
    assert out.rstrip().endswith("REPL still alive"), out[-2000:]
    res = {}
    for line in out.splitlines()[:-1]:
        key, msg = line.split(" |", 1)
        name, backend, mode = key.split(" ")
        res[(name[:-4], backend, mode)] = msg
    return res


def with_crc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, blob_crc(b))
    return bytes(b)


@pytest.fixture(scope="module")
def fc_blob() -> bytes:
    from tests.conformance.cases_fully_connected import make as make_fc

    return convert(make_fc(np.random.default_rng(7), 1, 16, 4, True, True, "RELU")).blob


def test_corrupt_blobs_rejected_with_clear_messages(tmp_path: Path, fc_blob: bytes) -> None:
    blob = fc_blob
    t_off, ops_off, params_off = struct.unpack_from("<III", blob, 36)
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    newer = bytearray(blob)
    struct.pack_into("<H", newer, 4, 2)
    unknown_op = bytearray(blob)
    unknown_op[ops_off] = 200
    bad_offset = bytearray(blob)
    struct.pack_into("<I", bad_offset, t_off + 20, 0x7FFFFFF0)
    bad_param = bytearray(blob)  # FULLY_CONNECTED act_min > act_max
    op_params = params_off + struct.unpack_from("<I", blob, ops_off + 8)[0] + 12
    struct.pack_into("<ii", bad_param, op_params + 12, 100, -100)
    errors = load_all(tmp_path, {
        "good": blob, "empty": b"", "magic": b"XXXX" + blob[4:], "truncated": blob[:-100],
        "flipped": bytes(flipped), "newer": with_crc(newer), "unknown_op": with_crc(unknown_op),
        "bad_offset": with_crc(bad_offset), "bad_param": with_crc(bad_param),
    }, ("python",), PURE_PATH)
    for (name, _, mode), msg in errors.items():  # streamed: the same checks, some reached earlier
        assert msg.startswith("ran " if name == "good" else "ValueError: "), (name, mode, msg)
    e = {name: msg for (name, _, mode), msg in errors.items() if mode == "ram"}
    assert e["empty"] == "ValueError: not a ulab_ml model: too short (truncated file?)"
    assert e["magic"].startswith("ValueError: not a ulab_ml model (bad magic)")
    assert e["truncated"] == "ValueError: model is truncated (file shorter than its header says)"
    assert e["flipped"] == "ValueError: corrupt model: CRC mismatch (damaged or partly copied file)"
    assert e["newer"].startswith("ValueError: model format is newer than this ulab_ml supports")
    assert e["unknown_op"].startswith("ValueError: model uses an operator this ulab_ml does not know")
    assert e["bad_offset"] == "ValueError: corrupt model: tensor outside the arena"
    assert e["bad_param"] == "ValueError: corrupt model: FULLY_CONNECTED parameters"


def mutants(blobs: list[bytes], n: int, rng: random.Random) -> dict[str, bytes]:
    """n blobs with 1-3 bytes changed (CRC fixed): in the op parameter words (offsets,
    multipliers, shifts, strides...), the header and tables, or the constants (weights,
    requantization arrays, biases, thresholds); or an activation moved in the arena."""
    out = {}
    interesting = [0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0xFE, 0x40, 0x20, 0x10, 0xE1, 0x1F]
    for i in range(n):
        b = bytearray(rng.choice(blobs))
        params_off, params_size, const_off = struct.unpack_from("<III", b, 44)
        if rng.random() < 0.2:
            # move an activation elsewhere in the arena (aligned): inputs and outputs overlap
            # against the planner's rules, so the kernels' read/write order shows
            arena, n_t = struct.unpack_from("<IH", b, 24)
            t_off = struct.unpack_from("<I", b, 36)[0]
            ids = [k for k in range(n_t) if b[t_off + 40 * k + 2] == 0]
            pos = t_off + 40 * rng.choice(ids) + 20
            nbytes = struct.unpack_from("<I", b, pos + 4)[0]
            struct.pack_into("<I", b, pos, 4 * rng.randrange(max(1, (arena - nbytes) // 4 + 1)))
            out[f"mut{i}"] = with_crc(b)
            continue
        for _ in range(rng.randint(1, 3)):
            r = rng.random()
            if r < 0.45 and params_size:
                pos = rng.randrange(params_off, params_off + params_size)
            elif r < 0.75 or const_off >= len(b):
                pos = rng.randrange(16, const_off)
            else:
                pos = rng.randrange(const_off, len(b))
            b[pos] = rng.choice(interesting) if rng.random() < 0.5 else b[pos] ^ (1 << rng.randrange(8))
        out[f"mut{i}"] = with_crc(b)
    return out


def test_mutated_blobs_same_verdict_as_native(tmp_path: Path) -> None:
    """Differential test: mutated blobs (CRC fixed) are rejected with the same message by both
    backends, or accepted by both and give the same output bytes."""
    from tests.conformance.test_conformance import CASES

    rng = random.Random(SEED)
    seeds = []
    convs = [c for c in CASES if c.name.split("/")[0] in ("conv_2d", "depthwise_conv_2d")]
    for c in rng.sample(CASES, 100) + convs:  # every convolution: both evaluations get mutants
        try:
            seeds.append(convert(c.model).blob)
        except Exception:  # noqa: BLE001 - not a seed
            continue
    blobs = mutants(seeds, 2000, rng)
    res = load_all(tmp_path, blobs, ("native", "python"), BOTH_PATH)
    diffs, verdicts = [], {"rejected": 0, "ran": 0}
    for name in blobs:
        for mode in ("ram", "stream"):
            nat, py = res[(name, "native", mode)], res[(name, "python", mode)]
            # too big for the test's heap on one side: how far the other got depends on the heap
            mem = "MemoryError: ulab_ml: model needs"
            if nat.startswith(mem) or py.startswith(mem) or (nat.startswith("loaded ") and py.startswith("loaded ")):
                continue
            if nat != py:
                diffs.append(f"{name} {mode}: native {nat!r} python {py!r}")
            verdicts["ran" if nat.startswith("ran") else "rejected"] += 1
    assert not diffs, f"{len(diffs)} differences:\n" + "\n".join(diffs[:20])
    print(f"\nmutated blobs x modes: {verdicts}")
    assert verdicts["rejected"] > 200 and verdicts["ran"] > 50, verdicts


def test_pure_crc32_matches_zlib(tmp_path: Path) -> None:
    import zlib

    data = bytes(random.Random(1).randrange(256) for _ in range(3000))
    (tmp_path / "d.bin").write_bytes(data)
    out = finish(micropython("from ulab_ml import _pure\nd = open('d.bin', 'rb').read()\n"
                             "print(_pure._crc32_py(d, 0), _pure._crc32_py(d[1000:], _pure._crc32_py(d[:1000], 0)),"
                             " _pure.crc32(d, 0))\n", PURE_PATH, tmp_path))
    assert out.split() == [str(zlib.crc32(data))] * 3


# ---------------------------------------------------------------- (d) selection


def test_backend_is_python_without_native_module(tmp_path: Path, fc_blob: bytes) -> None:
    (tmp_path / "m.uml").write_bytes(fc_blob)
    script = """
import ulab_ml
from ulab_ml import Model
m = Model.load('m.uml')
print(m.backend, m.mode)
try:
    Model.load('m.uml', backend='native')
except ImportError as e:
    print('ImportError', 'not found' in str(e))
"""
    out = finish(micropython(script, PURE_PATH, tmp_path), keep_notice=True).splitlines()
    assert out[0].startswith(FALLBACK_NOTICE) and out[0].endswith("using the pure-Python backend (much slower)")
    assert " ".join(out[1:]).split() == ["python", "ram", "ImportError", "True"]
    script = """
import ulab_ml
from ulab_ml import Model
print(Model.load('m.uml').backend, Model.load('m.uml', backend='python').backend)
ulab_ml.BACKEND = 'python'
print(Model.load('m.uml').backend)
"""
    assert finish(micropython(script, BOTH_PATH, tmp_path)).split() == ["native-x64", "python", "python"]


def test_bad_inputs_rejected_like_native(tmp_path: Path, fc_blob: bytes) -> None:
    (tmp_path / "m.uml").write_bytes(fc_blob)
    script = """
from array import array
from ulab_ml import Model
good = bytes(range(16))
for be in ('native', 'python'):
    m = Model.load('m.uml', backend=be)
    ref = bytes(m.infer(good))
    def attempt(label, f):
        try:
            f()
            print(be, label, '|ok')
        except Exception as e:
            print(be, label, '|' + type(e).__name__ + ': ' + str(e))
    attempt('short', lambda: m.infer(bytes(15)))
    attempt('float', lambda: m.infer(array('f', [0.0] * 16)))
    attempt('list', lambda: m.infer([0] * 16))
    attempt('small_out', lambda: m.infer(good, out=bytearray(3)))
    attempt('float_out', lambda: m.infer(good, out=array('f', [0.0])))
    attempt('array_b', lambda: m.infer(array('b', [v - 256 if v > 127 else v for v in good])))
    attempt('memoryview', lambda: m.infer(memoryview(bytearray(good))))
    print(be, 'same |', bytes(m.infer(good)) == ref, ref.hex())
    m.close()
    attempt('closed', lambda: m.infer(good))
"""
    out = finish(micropython(script, BOTH_PATH, tmp_path))
    res = {}
    for line in out.splitlines():
        key, msg = line.split(" |", 1)
        be, label = key.split(" ")
        res.setdefault(label, {})[be] = msg
    for label, by in res.items():
        assert by["native"] == by["python"], (label, by)
    assert res["same"]["python"].split()[0] == "True"


def test_run_and_run_op_entry_points(tmp_path: Path) -> None:
    """The backend's other entry points, as the native module's: run(ctx, in, out) with the
    weights in memory or streamed from the file, and run_op op by op, give infer()'s output;
    and a convolution whose big integers do not fit in the heap falls back to the loop."""
    from tests.conformance.test_conformance import CASES

    case = next(c for c in CASES if c.name.startswith("conv_2d/") and "kws" in c.name)
    (tmp_path / "m.uml").write_bytes(convert(case.model).blob)
    script = """
from ulab_ml import Model, _pure
m = Model.load('m.uml', 'ram')
s = Model.load('m.uml', 'stream')
x = bytearray(m.input_bytes)
for i in range(len(x)):
    x[i] = (i * 37 + 11) & 255
ref = bytes(m.infer(x))
out = bytearray(len(ref))
_pure.run((m._state, m._blob, m._arena), x, out)
print(bytes(out) == ref)
out = bytearray(len(ref))
_pure.run((s._state, s._blob, s._arena, s._span, s._file), x, out)
print(bytes(out) == ref, bytes(s.infer(x)) == ref)
out = bytearray(len(ref))
for i in range(m._state.n_ops):
    _pure.run_op(m._state, m._blob, m._arena, i, x if i == 0 else None, out if i == m._state.n_ops - 1 else None)
print(bytes(out) == ref)
print("_eval_conv_big" in [f.__name__ for f, p in m._state.prog])
def no_memory(*args):
    raise MemoryError
_pure._from_bytes = no_memory  # the planes' big integers do not fit: the loop takes over
print(bytes(m.infer(x)) == ref)
"""
    assert finish(micropython(script, PURE_PATH, tmp_path)).split() == ["True"] * 6


# ---------------------------------------------------------------- (e) speed

SPEED_MODELS = ["tflm_hello_world", "tflm_micro_speech", "emlearn_mnist_cnn", "mlperf_ad_fc_autoencoder"]

SPEED = """
import time
from ulab_ml import Model
for name in NAMES:
    row = []
    outs = []
    for be in ('native', 'python'):
        m = Model.load(name + '.uml', backend=be)
        x = bytearray(m.input_bytes)
        for i in range(len(x)):
            x[i] = (i * 37 + 11) & 255
        y = m.infer(x)
        best = None
        t_end = time.ticks_add(time.ticks_ms(), 300)
        for i in range(100):
            t0 = time.ticks_us()
            m.infer(x)
            dt = time.ticks_diff(time.ticks_us(), t0)
            best = dt if best is None or dt < best else best
            if time.ticks_diff(t_end, time.ticks_ms()) < 0 and i >= 4:
                break
        row.append(best)
        outs.append(bytes(y))
    print(name, row[0], row[1], outs[0] == outs[1])
"""


def test_speed_native_vs_python(tmp_path: Path) -> None:
    """Per-inference time on the unix port (time.ticks_us around infer(), the fastest of 5 to
    100 runs, 0.3 s per model and backend); only printed: the measured numbers are in
    docs/PURE_PYTHON.md."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"shared model suite not found at {SHARED_MODELS}")
    names = []
    for model in SPEED_MODELS:
        gdir = SHARED_MODELS / model / "golden"
        meta = json.loads((gdir / "golden.json").read_text())
        (tmp_path / f"{model}.uml").write_bytes(convert((gdir.parent / meta["model"]).read_bytes()).blob)
        names.append(model)
    out = finish(micropython(f"NAMES = {names!r}\n" + SPEED, BOTH_PATH, tmp_path))
    print("\nmodel: native us, python us per inference (unix port, x64, fastest run)")
    for line in out.splitlines():
        name, nat, py, same = line.split()
        print(f"  {name}: native {int(nat)} us, python {int(py)} us ({int(py) / max(int(nat), 1):.0f}x)")
        assert same == "True", f"{name}: native and python outputs differ"
    assert len(out.splitlines()) == len(names)
