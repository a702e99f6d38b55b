"""Models as MicroPython modules (`ulab-ml convert --format mpy`), frozen into a firmware.

(a) The .mpy writer: byte for byte what MicroPython 1.25's mpy-cross makes of the same
    constants, and MODEL's data at a 16-byte offset of the file when aligned.
(b) Unix port, no shared models needed: a generated model converted with `--format mpy`
    imports, `Model.load(module)` and `Model.load(module.MODEL)` load it in place (the import's
    copy in RAM), and its outputs equal TensorFlow Lite Micro's bit for bit.
(c) qemu-m0, one boot: a firmware with mlperf_vww_mobilenet and tflm_person_detection frozen in
    (built from ../shared/models at test time, .cache/qemu/qemu-m0-frozen); each model loads
    "inplace" from the firmware's flash (MODEL's data lies in the ELF's .text), the import and
    the load take far less heap than the blob (the load: the planned arena plus the Model's own
    objects), and the golden inputs give the golden outputs bit for bit. In the same boot, the
    person model's .mpy imported from the ROMFS image is used in place too (MicroPython 1.25
    references a ROMFS .mpy's bytes constants where they lie).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conftest import ROOT, SHARED_MODELS
from ulab_ml_host.blob import parse_blob, ram_per_mode
from ulab_ml_host.convert import blob_module, convert
from ulab_ml_host.frozen import FrozenJob, FrozenResult, build_firmware, run_frozen
from ulab_ml_host.mpyfile import constants_module
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.paths import DEVICE_PACKAGE, NATMOD_DIR, UNIX_MICROPYTHON
from ulab_ml_host.qemu import MPY_CROSS, load_board

ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"
FROZEN_MODELS = ("mlperf_vww_mobilenet", "tflm_person_detection")
ROMFS_MODULE = "romfs_person_detection"  # the person model again, imported from the ROMFS image
# Heap the Model object itself takes besides the arena, output buffer and engine state (its
# attributes, shape tuples, the context tuple): a few hundred bytes, measured 426 on qemu-m0.
MODEL_OBJECTS = 1024
IMPORT_MAX = 512  # a module object and its globals (measured 80 frozen, 128 from ROMFS)


# --- (a) the .mpy writer ---------------------------------------------------------------------------

def _mpy_cross() -> Path:
    if not MPY_CROSS.exists():  # built by the QEMU board build (no-op when up to date)
        subprocess.run(["bash", str(ROOT / "scripts" / "build_qemu_boards.sh"), "qemu-m0"], check=True)
    return MPY_CROSS


@pytest.mark.parametrize("constants", [
    [("MODEL", bytes(range(256)) * 3), ("SOURCE", "kws_ref_model.tflite"), ("ARENA_SIZE", 11984)],
    [("A", 0), ("B", 63), ("C", 64), ("D", -64), ("E", -65), ("F", 127), ("G", 128), ("H", 8191), ("I", 8192),
     ("J", -8193), ("K", (1 << 30) - 1), ("L", -(1 << 30)), ("M", b"\x00"), ("N", "ten or more characters"),
     ("A", b"x" * 200), ("O", -16), ("P", 47), ("Q", 48), ("R", -17)],
], ids=["model", "ints"])
def test_writer_matches_mpy_cross(constants: list, tmp_path: Path) -> None:
    src = "; ".join(f"{name} = {value!r}" for name, value in constants) + "\n"
    (tmp_path / "mod.py").write_text(src)
    subprocess.run([str(_mpy_cross()), "-s", "mod.py", "-o", str(tmp_path / "mod.mpy"), str(tmp_path / "mod.py")],
                   check=True)
    assert constants_module(constants, "mod.py", align=1) == (tmp_path / "mod.mpy").read_bytes()


def test_writer_aligns_bytes_and_micropython_reads_them(tmp_path: Path) -> None:
    blob = bytes(np.random.default_rng(5).integers(0, 256, 1000, dtype=np.uint8))
    for pre in ("", "x", "xyz" * 7):  # qstrs of several lengths before the data
        mpy = constants_module([("S", pre), ("MODEL", blob), ("N", -3)], f"m{len(pre)}.py")
        assert mpy.find(blob) % 16 == 0
        (tmp_path / f"m{len(pre)}.mpy").write_bytes(mpy)
    script = "import m0, m1, m21\nfor m in (m0, m1, m21): print(m.S, len(m.MODEL), hash(m.MODEL), m.N)\n"
    proc = subprocess.run([str(UNIX_MICROPYTHON), "-c", script], capture_output=True, text=True,
                          env=dict(os.environ, MICROPYPATH=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr
    ref = subprocess.run([str(UNIX_MICROPYTHON), "-c", f"print(hash({blob!r}))"], capture_output=True, text=True)
    h = ref.stdout.strip()
    assert proc.stdout.splitlines() == [f" 1000 {h} -3", f"x 1000 {h} -3", f"{'xyz' * 7} 1000 {h} -3"]


# --- (b) unix port -------------------------------------------------------------------------------

UNIX_RUNNER = """
import gc, sys
from binascii import hexlify
from ulab_ml import Model
gc.collect()
f0 = gc.mem_free()
import fc_model
gc.collect()
print("IMPORT", f0 - gc.mem_free(), len(fc_model.MODEL), fc_model.SOURCE, fc_model.ARENA_SIZE)
data = open(sys.argv[1], "rb").read()
for m in (Model.load(fc_model), Model.load(fc_model.MODEL)):
    print("LOAD", m.mode, m.arena_size, m.backend)
    nb = m.input_bytes
    for i in range(len(data) // nb):
        print("OUT", hexlify(m.infer(data[i * nb:(i + 1) * nb])).decode())
"""


def test_convert_mpy_imports_and_runs_bit_exact_on_unix(tmp_path: Path) -> None:
    tflite = tmp_path / "fc.tflite"
    tflite.write_bytes(make_fc(np.random.default_rng(23), 1, 40, 10, True, True, "RELU"))
    mods = tmp_path / "mods"
    mods.mkdir()
    # The format follows from the .mpy name; --format mpy says it outright. Same bytes either way.
    for args in (["-o", str(mods / "fc_model.mpy")], ["-o", str(tmp_path / "fc_model.mpy"), "--format", "mpy"]):
        proc = subprocess.run([str(ULAB_ML), "convert", str(tflite), *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert "module fc_model" in proc.stdout
    mpy = (mods / "fc_model.mpy").read_bytes()
    assert mpy == (tmp_path / "fc_model.mpy").read_bytes()
    blob = convert(tflite.read_bytes()).blob
    assert mpy == blob_module(blob, "fc_model", "fc.tflite") and mpy[:4] == b"M\x06\x00\x1f"
    b = parse_blob(blob)

    x = np.random.default_rng(24).integers(-128, 128, size=(6, *b.input.shape), dtype=np.int8)
    (tmp_path / "in.bin").write_bytes(x.tobytes())
    (tmp_path / "runner.py").write_text(UNIX_RUNNER)
    env = dict(os.environ, MICROPYPATH=f"{mods}:{DEVICE_PACKAGE.parent}:{NATMOD_DIR}")
    proc = subprocess.run([str(UNIX_MICROPYTHON), str(tmp_path / "runner.py"), str(tmp_path / "in.bin")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    lines = [line.split() for line in proc.stdout.splitlines()]
    _, import_cost, size, source, arena = lines[0]
    assert (int(size), source, int(arena)) == (len(blob), "fc.tflite", b.arena_size)
    # Imported from a filesystem, the module's bytes constant is read into RAM by the import.
    assert int(import_cost) >= len(blob)
    loads = [line for line in lines if line[0] == "LOAD"]
    assert loads == [["LOAD", "inplace", str(b.arena_size), "native-x64"]] * 2
    outs = np.array([np.frombuffer(bytes.fromhex(line[1]), dtype=np.int8) for line in lines if line[0] == "OUT"])
    (expected,) = run_oracle([(tflite.read_bytes(), x)])
    assert isinstance(expected, np.ndarray), expected
    expected = expected.reshape(len(x), -1)
    assert outs.shape == (2 * len(x), expected.shape[1])
    assert np.array_equal(outs[:len(x)], expected) and np.array_equal(outs[len(x):], expected)


@pytest.mark.parametrize("args,message", [
    (["--format", "mpy", "-o", "x.uml"], "must be NAME.mpy"),
    (["-o", "kws-model.mpy"], "must be NAME.mpy with NAME a Python identifier"),
    (["--format", "uml", "-o", "x.mpy"], "needs --format mpy"),
])
def test_convert_mpy_output_name_checked(args: list[str], message: str, tmp_path: Path) -> None:
    tflite = tmp_path / "fc.tflite"
    tflite.write_bytes(make_fc(np.random.default_rng(3), 1, 8, 4, False, True, "NONE"))
    proc = subprocess.run([str(ULAB_ML), "convert", str(tflite), *args], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["fc.tflite"]


# --- (c) frozen into a qemu-m0 firmware ------------------------------------------------------------

def _golden(model_dir: str) -> tuple[Path, dict, np.ndarray, np.ndarray]:
    gdir = SHARED_MODELS / model_dir / "golden"
    meta = json.loads((gdir / "golden.json").read_text())
    shape, oshape = meta["input"]["shape"], meta["output"]["shape"]
    x = np.stack([np.frombuffer((gdir / c["input_file"]).read_bytes(), dtype=meta["input"]["dtype"]).reshape(shape)
                  for c in meta["cases"]])
    y = np.stack([np.frombuffer((gdir / c["output_file"]).read_bytes(), dtype=meta["output"]["dtype"]).reshape(oshape)
                  for c in meta["cases"]])
    return gdir.parent / meta["model"], meta, x, y


@pytest.fixture(scope="module")
def frozen() -> dict[str, tuple[FrozenResult, bytes, np.ndarray, Path]]:
    """One boot of qemu-m0 with both models frozen in (and the person model in the ROMFS image)."""
    missing = [m for m in FROZEN_MODELS if not (SHARED_MODELS / m / "golden" / "golden.json").is_file()]
    if missing:
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS} (missing {', '.join(missing)}); "
                    "the frozen firmware was not built or tested")
    for tool in ("qemu-system-arm", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed (scripts/setup.sh installs it)")
    modules: dict[str, bytes] = {}
    jobs: list[FrozenJob] = []
    expect: dict[str, tuple[bytes, np.ndarray]] = {}
    for name in FROZEN_MODELS:
        tflite, meta, x, y = _golden(name)
        blob = convert(tflite.read_bytes()).blob
        modules[name] = blob_module(blob, name, tflite.name)
        jobs.append(FrozenJob(name, x, meta["output"]["dtype"], tuple(meta["output"]["shape"])))
        expect[name] = (blob, y)
    person = jobs[-1]
    romfs = {ROMFS_MODULE: blob_module(expect[person.module][0], ROMFS_MODULE, "person_detect.tflite")}
    jobs.append(FrozenJob(ROMFS_MODULE, person.inputs, person.output_dtype, person.output_shape))
    expect[ROMFS_MODULE] = expect[person.module]
    # Also builds the armv6m native module and mpy-cross if needed; no-op when up to date.
    firmware = build_firmware("qemu-m0", "qemu-m0-frozen", modules)
    results = run_frozen("qemu-m0", firmware, jobs, romfs)
    return {r.module: (r, *expect[r.module], firmware) for r in results}


def _check_in_place_and_small(r: FrozenResult, blob: bytes) -> None:
    b = parse_blob(blob)
    assert r.mode == "inplace"
    assert r.blob_bytes == len(blob) and r.address % 4 == 0
    assert r.arena_size == r.arena_constant == b.arena_size
    # Nothing near the blob's size is allocated: the import makes a module object, the load
    # allocates the arena, the output buffer, the engine state and the Model's own objects.
    assert r.import_cost <= IMPORT_MAX, r
    assert b.arena_size <= r.load_cost <= ram_per_mode(b)["inplace"] + MODEL_OBJECTS, r
    beyond_arena = r.import_cost + r.load_cost - b.arena_size
    assert beyond_arena < 1024 < len(blob) // 100, (beyond_arena, len(blob))


@pytest.mark.parametrize("name", FROZEN_MODELS)
def test_frozen_model_in_flash_bit_exact(name: str, frozen: dict) -> None:
    r, blob, expected, firmware = frozen[name]
    _check_in_place_and_small(r, blob)
    with open(firmware, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        lo, hi = text["sh_addr"], text["sh_addr"] + text["sh_size"]
    assert lo <= r.address and r.address + len(blob) <= hi, f"MODEL at {r.address:#x}, not in flash [{lo:#x}, {hi:#x})"
    assert r.outputs.shape == expected.shape
    assert np.array_equal(r.outputs, expected), f"ours {r.outputs.tolist()} vs TFLite Micro {expected.tolist()}"


def test_romfs_mpy_module_used_in_place(frozen: dict) -> None:
    r, blob, expected, _ = frozen[ROMFS_MODULE]
    _check_in_place_and_small(r, blob)
    board = load_board("qemu-m0")
    assert board.romfs_addr <= r.address < board.romfs_addr + board.romfs_size
    assert np.array_equal(r.outputs, expected), f"ours {r.outputs.tolist()} vs TFLite Micro {expected.tolist()}"
