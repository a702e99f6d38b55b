"""The CMSIS-NN build of the native module (docs/CMSIS_NN.md), tested only when CMSIS_NN_DIR names
a CMSIS-NN checkout (tests/conftest.py leaves this file out otherwise and says so in the header
and the summary). Builds .cache/natmod-cmsis/ against that checkout, then with it, bit for bit
against TensorFlow Lite Micro: the whole conformance suite on unix, qemu-m0 and qemu-m4 (a child
pytest pointed at that build by ULAB_ML_NATMOD_DIR), every pair of int8 operands through
CMSIS-NN's ADD and MUL, and every golden case of the shared models on unix and the QEMU boards;
which conformance ops CMSIS-NN takes (the glue traced in the host harness); and the host's arena
for this build (ulab_ml_host.cmsis_nn, `ulab-ml inspect/fit --cmsis-nn`) against the boards'."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CMSIS_NN_DIR, ROOT, SEED, SHARED_MODELS

CMSIS_NATMOD = ROOT / ".cache" / "natmod-cmsis"
ARCHS = ("x64", "armv6m", "armv7m", "armv7emsp")


@pytest.fixture(scope="module")
def cmsis_build() -> Path:
    subprocess.run(["bash", str(ROOT / "scripts" / "build_natmod.sh"), *ARCHS], check=True,
                   env=dict(os.environ, CMSIS_NN_DIR=CMSIS_NN_DIR))
    return CMSIS_NATMOD


def test_build_differs_from_ours(cmsis_build: Path) -> None:
    for arch in ARCHS:
        ours = ROOT / ".cache" / "natmod" / f"ulab_ml_{arch}.mpy"
        theirs = cmsis_build / f"ulab_ml_{arch}.mpy"
        assert theirs.is_file(), f"{theirs} was not built"
        assert not ours.is_file() or ours.read_bytes() != theirs.read_bytes()


def test_scratch_at_the_arena_tail(cmsis_build: Path, tmp_path: Path) -> None:
    """small_model's 3x3 convolution of 2 channels needs CMSIS-NN's im2col buffer: the CMSIS-NN
    build's arena is the planned one plus that buffer (2 columns of 3*3*2 = 18 values, padded to
    20, as int16: 80 bytes), and the outputs are still TFLM's."""
    from tests.bench.layers import small_model
    from ulab_ml_host.convert import convert
    from ulab_ml_host.oracle import run_oracle

    tfl = small_model()
    conv = convert(tfl)
    planned = int.from_bytes(conv.blob[24:28], "little")
    x = np.random.default_rng(1).integers(-128, 128, size=(3, 1, 8, 8, 2), dtype=np.int8)
    (expected,) = run_oracle([(tfl, x)])
    (tmp_path / "m.uml").write_bytes(conv.blob)
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    script = (
        "from ulab_ml import Model\n"
        f"m = Model.load({str(tmp_path / 'm.uml')!r})\n"
        "print('ARENA', m.arena_size)\n"
        f"data = open({str(tmp_path / 'x.bin')!r}, 'rb').read()\n"
        "for i in range(3):\n"
        "    print('OUT', bytes(m.infer(data[i * 128:(i + 1) * 128])).hex())\n")
    env = dict(os.environ, MICROPYPATH=f"{ROOT}:{cmsis_build}")
    proc = subprocess.run([str(ROOT / ".cache" / "bin" / "micropython"), "-c", script], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    arena = int(re.search(r"ARENA (\d+)", proc.stdout).group(1))
    assert arena == (planned + 15) // 16 * 16 + 80, (planned, arena)
    outs = [np.frombuffer(bytes.fromhex(h), dtype=np.int8) for h in re.findall(r"OUT ([0-9a-f]+)", proc.stdout)]
    assert np.array_equal(np.stack(outs), np.asarray(expected).reshape(3, -1))


def test_conformance_with_cmsis_nn(cmsis_build: Path) -> None:
    """Every conformance case on unix, qemu-m0 and qemu-m4 bit-exact with the CMSIS-NN build (a
    child pytest on tests/conformance with ULAB_ML_NATMOD_DIR=.cache/natmod-cmsis)."""
    env = dict(os.environ, ULAB_ML_NATMOD_DIR=str(cmsis_build))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
         "tests/conformance/test_conformance.py"],
        cwd=ROOT, env=env, capture_output=True, text=True)
    summary = [ln for ln in proc.stdout.splitlines() if " passed" in ln or " failed" in ln]
    print(f"CMSIS-NN build, conformance suite: {summary[-1] if summary else proc.stderr[-2000:]}")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


# Runs jobs in a child process: the native module directory is fixed when ulab_ml_host is imported.
CHILD = """
import pickle, sys
from ulab_ml_host.targets import run_jobs
target, path = sys.argv[1], sys.argv[2]
jobs = pickle.loads(open(path, "rb").read())
res = run_jobs(target, jobs)
open(path, "wb").write(pickle.dumps([r if not isinstance(r, Exception) else str(r) for r in res]))
"""


def run_with(natmod_dir: Path, target: str, jobs: list, tmp: Path) -> list:
    path = tmp / f"jobs-{target}.pkl"
    path.write_bytes(pickle.dumps(jobs))
    subprocess.run([sys.executable, "-c", CHILD, target, str(path)], check=True, cwd=ROOT,
                   env=dict(os.environ, ULAB_ML_NATMOD_DIR=str(natmod_dir)))
    return pickle.loads(path.read_bytes())


def elementwise_exhaustive(op: str, q: tuple, act: str) -> tuple[bytes, np.ndarray]:
    """op on input [16, 256] and a constant of the same shape (no broadcasting: CMSIS-NN's
    arm_elementwise_*_s8): over 16 inferences every pair of int8 operands."""
    from tests.conformance.builder import ACT, ModelBuilder, options
    from tests.conformance.cases_add import OPTIONS

    s1, s2, so, z1, z2, zo = q
    b = ModelBuilder()
    x = b.tensor((16, 256), "int8", s1, z1)
    c = b.tensor((16, 256), "int8", s2, z2, data=np.tile(np.arange(-128, 128, dtype=np.int8), (16, 1)))
    y = b.tensor((16, 256), "int8", so, zo)
    b.op(op, [x, c], [y], options(OPTIONS[op], fusedActivationFunction=ACT[act]))
    xs = np.repeat(np.arange(-128, 128, dtype=np.int8).reshape(16, 16, 1), 256, axis=2)
    return b.build([x], [y]), xs


@pytest.mark.parametrize("target", ["unix", "qemu-m0", "qemu-m4"])
def test_elementwise_exhaustive(cmsis_build: Path, target: str, tmp_path: Path) -> None:
    """The conformance suite's exhaustive ADD cases broadcast (our kernel runs them); these run
    every pair of operands through CMSIS-NN's ADD and MUL, with the quantizations that tell
    float32 from double multipliers apart and seeded random ones, bit-exact with TFLM."""
    from tests.conformance.cases_add import ACTS, PRECISION_SENSITIVE, _scales, _zero_point
    from ulab_ml_host.convert import convert
    from ulab_ml_host.oracle import run_oracle
    from ulab_ml_host.targets import Job

    rng = np.random.default_rng([SEED, zlib.crc32(b"cmsis_nn_elementwise")])
    models = []
    for op in ("ADD", "MUL"):
        qs = list(PRECISION_SENSITIVE.get(op, []))
        for _ in range(3):
            qs.append((*_scales(rng, op), _zero_point(rng), _zero_point(rng), _zero_point(rng, output=True)))
        models += [(f"{op}-{k}", *elementwise_exhaustive(op, q, ACTS[k % len(ACTS)])) for k, q in enumerate(qs)]
    expected = run_oracle([(m, x) for _, m, x in models])
    jobs = [Job(convert(m).blob, x, "int8", (16, 256)) for _, m, x in models]
    ours = run_with(cmsis_build, target, jobs, tmp_path)
    for (name, _, _), e, o in zip(models, expected, ours):
        assert isinstance(o, np.ndarray), f"{name}: {o}"
        assert np.array_equal(o, np.asarray(e).reshape(o.shape)), f"{name}: differs from TFLM"


# (target, weights mode): None lets Model.load choose.
GOLDEN_VARIANTS = [("unix", "ram"), ("unix", "stream"), ("qemu-m0", None), ("qemu-m0", "inplace"),
                   ("qemu-m3", None), ("qemu-m4", None), ("qemu-m4", "inplace")]


@pytest.mark.parametrize("target,mode", GOLDEN_VARIANTS, ids=[f"{t}-{m or 'auto'}" for t, m in GOLDEN_VARIANTS])
def test_golden_with_cmsis_nn(cmsis_build: Path, target: str, mode: str | None, tmp_path: Path) -> None:
    """Every golden case of the shared models with the CMSIS-NN build: bit-exact with TFLM, or
    (on a board) refused with a MemoryError. The CMSIS-NN build's native module is larger and
    its arena has CMSIS-NN's scratch at the tail, so a model that just fits a board's heap with
    our build may not with this one (docs/CMSIS_NN.md); on unix every case must run."""
    import tests.test_golden as golden
    from ulab_ml_host.convert import convert
    from ulab_ml_host.targets import Job

    if not golden.CASES:
        pytest.skip("the shared models are not here")
    blobs: dict[Path, bytes] = {}
    jobs, expected = [], []
    for name, gdir, meta, case in golden.CASES:
        path = gdir.parent / meta["model"]
        if path not in blobs:
            blobs[path] = convert(path.read_bytes()).blob
        x = np.frombuffer((gdir / case["input_file"]).read_bytes(), dtype=meta["input"]["dtype"])
        jobs.append(Job(blobs[path], x.reshape(tuple(meta["input"]["shape"]))[None], meta["output"]["dtype"],
                        tuple(meta["output"]["shape"]), mode))
        expected.append((name, np.frombuffer((gdir / case["output_file"]).read_bytes(), dtype=meta["output"]["dtype"])))
    refused = []
    for (name, want), got in zip(expected, run_with(cmsis_build, target, jobs, tmp_path)):
        if isinstance(got, str):
            assert target != "unix" and "MemoryError" in got, f"{name}: {got}"
            refused.append(name)
            continue
        assert np.array_equal(got.reshape(-1), want), f"{name}: differs from TFLM"
    print(f"CMSIS-NN build, golden on {target} ({mode or 'auto'}): {len(jobs) - len(refused)} bit-exact, "
          f"{len(refused)} refused for lack of heap {sorted(set(n.split('/')[0] for n in refused))}")


def test_sanitized_host_harness(tmp_path: Path) -> None:
    """The engine, our kernels, the glue and CMSIS-NN's plain-C kernels in the host harness
    (natmod/host/uml_run.c) under AddressSanitizer and UndefinedBehaviorSanitizer (CMSIS-NN's
    sources with -fwrapv, as in the native module): every conformance case runs clean (the arena
    is allocated to its exact size, so a scratch tail too small would be caught) and every golden
    case is bit-exact."""
    import tests.test_golden as golden
    from tests.conformance.test_conformance import CASES
    from ulab_ml_host.convert import convert

    mk = (ROOT / "natmod" / "cmsis_nn.mk").read_text()
    cmsis = [Path(CMSIS_NN_DIR) / "Source" / s for s in re.findall(r"\b\w+Functions/\w+\.c\b", mk)]
    san = ["-std=c11", "-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
           "-fno-omit-frame-pointer", f"-I{CMSIS_NN_DIR}/Include"]
    objs = []
    for src in cmsis:
        obj = tmp_path / f"{src.stem}.o"
        subprocess.run(["gcc", *san, "-fwrapv", "-c", str(src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    ours = sorted(str(p) for d in ("engine", "kernels") for p in (ROOT / "natmod" / d).glob("*.c"))
    harness = tmp_path / "uml_run_cmsis"
    subprocess.run(["gcc", *san, "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-fno-strict-aliasing",
                    "-DUML_CMSIS_NN", "-o", str(harness), *ours, str(ROOT / "natmod" / "host" / "uml_run.c"), *objs],
                   check=True)

    def run(blob: bytes, x: np.ndarray) -> bytes:
        (tmp_path / "m.uml").write_bytes(blob)
        (tmp_path / "i.bin").write_bytes(np.ascontiguousarray(x).tobytes())
        proc = subprocess.run([str(harness), str(tmp_path / "m.uml"), str(tmp_path / "i.bin"), str(tmp_path / "o.bin")],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr.strip(), proc.stderr[-3000:]
        return (tmp_path / "o.bin").read_bytes()

    for c in CASES:
        run(convert(c.model).blob, c.inputs)
    for name, gdir, meta, case in golden.CASES:
        x = np.frombuffer((gdir / case["input_file"]).read_bytes(), dtype=meta["input"]["dtype"])
        got = run(convert((gdir.parent / meta["model"]).read_bytes()).blob, x)
        assert got == (gdir / case["output_file"]).read_bytes(), f"{name}: differs from TFLM"


# Ops CMSIS-NN must take in every conformance case: the convolutions, pools and copies have no
# gate the generated cases reach (extents above 32767, inputs sharing the output's bytes).
ALWAYS_TAKEN = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "PAD",
                "CONCATENATION")


def test_conformance_ops_taken(tmp_path: Path) -> None:
    """Which conformance ops CMSIS-NN runs: the glue built into the host harness with
    UML_CMSIS_NN_TRACE prints, for every op offered to it, whether CMSIS-NN took it or ours ran.
    Every CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, pool, PAD and CONCATENATION is taken (the
    conformance runs above show them bit-exact on unix, qemu-m0 and qemu-m4); SOFTMAX, ADD, MUL and
    RESHAPE are taken except where the documented gates send them to ours."""
    from collections import Counter

    from tests.conformance.test_conformance import CASES
    from ulab_ml_host.convert import convert
    from ulab_ml_host.format import OPCODE_NAMES

    mk = (ROOT / "natmod" / "cmsis_nn.mk").read_text()
    cmsis = [str(Path(CMSIS_NN_DIR) / "Source" / s) for s in re.findall(r"\b\w+Functions/\w+\.c\b", mk)]
    ours = sorted(str(p) for d in ("engine", "kernels") for p in (ROOT / "natmod" / d).glob("*.c"))
    harness = tmp_path / "uml_run_trace"
    subprocess.run(["gcc", "-std=c11", "-O1", "-fwrapv", "-w", f"-I{CMSIS_NN_DIR}/Include", "-DUML_CMSIS_NN",
                    "-DUML_CMSIS_NN_TRACE", "-fno-strict-aliasing", "-o", str(harness), *ours,
                    str(ROOT / "natmod" / "host" / "uml_run.c"), *cmsis], check=True)
    counts: Counter[tuple[str, str]] = Counter()
    ours_in: dict[str, set[str]] = {}
    for c in CASES:
        try:
            blob = convert(c.model).blob
        except Exception:  # noqa: BLE001 - cases the converter refuses by design run nowhere
            continue
        (tmp_path / "m.uml").write_bytes(blob)
        (tmp_path / "i.bin").write_bytes(np.ascontiguousarray(c.inputs).tobytes())
        proc = subprocess.run([str(harness), str(tmp_path / "m.uml"), str(tmp_path / "i.bin"), str(tmp_path / "o.bin")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{c.name}: {proc.stderr[-2000:]}"
        for code, how in set(re.findall(r"cmsis-nn op (\d+) (taken|ours)", proc.stderr)):
            op = OPCODE_NAMES[int(code)]
            counts[op, how] += 1  # cases in which CMSIS-NN took (some of) the op / ours ran it
            if how == "ours":
                ours_in.setdefault(op, set()).add(c.name)
    summary = {op: (counts[op, "taken"], counts[op, "ours"]) for op in sorted({op for op, _ in counts})}
    print(f"CMSIS-NN build, conformance cases with the op (taken, ours): {summary}")
    for op in ALWAYS_TAKEN:
        assert counts[op, "taken"] > 0, f"no {op} in the conformance suite"
        assert counts[op, "ours"] == 0, f"{op} ran ours in {sorted(ours_in[op])[:5]}"
    for op in ("SOFTMAX", "ADD", "MUL", "RESHAPE"):
        assert counts[op, "taken"] > 0, f"CMSIS-NN never took {op}"
    # Ops CMSIS-NN has nothing for are never offered to it.
    assert not {op for op, _ in counts} & {"SUB", "MEAN", "LOGISTIC", "TANH", "RELU", "HARD_SWISH", "QUANTIZE",
                                           "DEQUANTIZE"}


# Runs in a child process (the native module directory is fixed when ulab_ml_host is imported):
# each model's head (the bytes before its constants) through the board's load_head, which
# reports the arena the CMSIS-NN build's loader sizes (planned arena + scratch tail).
HEAD_CHILD = """
import json, sys
from tests.qemu_script import run_module
target, sizes = sys.argv[1], json.loads(sys.argv[2])
files = {f"h{i}": open(sys.argv[3] + f"/h{i}", "rb").read() for i in range(len(sizes))}
print(json.dumps(run_module(target, sys.argv[4], f"probe.run({sizes!r})", files)))
"""
HEAD_PROBE = """
import ulab_ml
nat = ulab_ml._backend("native")


def run(sizes):
    for i in range(len(sizes)):
        with open("/rom/h%d" % i, "rb") as f:
            head = f.read()
        new_state = getattr(nat, "new_state", None)
        state = new_state() if new_state else bytearray(nat.STATE_SIZE)
        info, spans = nat.load_head(head, state, sizes[i])
        print("ARENA", i, info[0])
"""


@pytest.mark.parametrize("target", ["qemu-m0", "qemu-m3", "qemu-m4"])
def test_host_arena_equals_device(cmsis_build: Path, target: str, tmp_path: Path) -> None:
    """`ulab-ml inspect --cmsis-nn ARCH` / `fit --cmsis-nn` (ulab_ml_host.cmsis_nn) compute the
    CMSIS-NN build's arena on the host: for every shared model and every conformance model it is
    exactly what the board's loader reports (load_head's arena size, = Model.arena_size)."""
    import json

    import tests.test_golden as golden
    from tests.conformance.test_conformance import CASES
    from ulab_ml_host.blob import parse_blob
    from ulab_ml_host.cmsis_nn import cmsis_nn_arena_size
    from ulab_ml_host.convert import convert
    from ulab_ml_host.qemu import load_board

    blobs: dict[str, bytes] = {}
    for _, gdir, meta, _ in golden.CASES:
        name = f"{gdir.parent.name}/{meta['model']}"
        if name not in blobs:
            blobs[name] = convert((gdir.parent / meta["model"]).read_bytes()).blob
    for path in sorted(SHARED_MODELS.glob("*/*.tflite")):  # the shared models without golden cases too
        name = f"{path.parent.name}/{path.name}"
        try:
            blobs.setdefault(name, convert(path.read_bytes()).blob)
        except Exception:  # noqa: BLE001 - the unsupported models are refused by design
            pass
    heads: set[bytes] = set()
    for c in CASES:
        try:
            blob = convert(c.model).blob
        except Exception:  # noqa: BLE001 - cases the converter refuses by design run nowhere
            continue
        head = blob[:parse_blob(blob).const_off]
        if head not in heads:  # many cases share a head (same shapes, other weights)
            heads.add(head)
            blobs[c.name] = blob
    names = list(blobs)
    sizes = []
    for i, name in enumerate(names):
        b = blobs[name]
        (tmp_path / f"h{i}").write_bytes(b[:parse_blob(b).const_off])
        sizes.append(len(b))
    env = dict(os.environ, ULAB_ML_NATMOD_DIR=str(cmsis_build))
    proc = subprocess.run([sys.executable, "-c", HEAD_CHILD, target, json.dumps(sizes), str(tmp_path), HEAD_PROBE],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = json.loads(proc.stdout.strip().splitlines()[-1])
    device = {int(m.group(1)): int(m.group(2)) for ln in lines if (m := re.match(r"ARENA (\d+) (\d+)", ln))}
    assert sorted(device) == list(range(len(names))), lines[-5:]
    arch = load_board(target).natmod.name.removeprefix("ulab_ml_").removesuffix(".mpy")
    tails = {}
    for i, name in enumerate(names):
        b = parse_blob(blobs[name])
        host = cmsis_nn_arena_size(b, arch)
        assert host == device[i], f"{name} on {target}: host {host}, board {device[i]} (planned {b.arena_size})"
        tails[name] = host - b.arena_size
    shared = {n: t for n, t in tails.items() if n.endswith(".tflite")}
    print(f"CMSIS-NN build on {target} ({arch}): host arena = board arena for {len(names)} models; "
          f"scratch tails of the shared models {shared}")
    assert sum(t > 0 for t in tails.values()) >= 10, "too few models with a scratch tail to tell anything"
