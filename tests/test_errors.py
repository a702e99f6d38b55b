"""Bad input gets a clear exception and leaves the model (and the REPL) usable."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conformance.builder import ModelBuilder, options, random_int8
from tests.conformance.cases_fully_connected import make as make_fc
from tests.device import run_micropython
from ulab_ml_host.convert import convert
from ulab_ml_host.lowering import UnsupportedModel
from ulab_ml_host.pack import blob_crc

ROOT = Path(__file__).resolve().parents[1]
ULAB_ML = ROOT / ".venv" / "bin" / "ulab-ml"


@pytest.fixture(scope="module")
def fc_model() -> bytes:
    return make_fc(np.random.default_rng(7), 1, 16, 4, True, True, "RELU")


@pytest.fixture(scope="module")
def blob(fc_model: bytes) -> bytes:
    return convert(fc_model).blob


def with_crc(b: bytearray) -> bytes:
    struct.pack_into("<I", b, 12, blob_crc(b))
    return bytes(b)


def load_errors(tmp_path: Path, blobs: dict[str, bytes], mode: str | None = None) -> dict[str, str]:
    """Model.load each blob from a file on the unix port; name -> exception text or 'loaded'."""
    for name, data in blobs.items():
        (tmp_path / f"{name}.uml").write_bytes(data)
    script = (
        "from ulab_ml import Model\n"
        f"for name in {sorted(blobs)!r}:\n"
        "    try:\n"
        f"        Model.load(name + '.uml', {mode!r})\n"
        "        print(name, '|loaded')\n"
        "    except Exception as e:\n"
        "        print(name, '|' + type(e).__name__ + ': ' + str(e))\n"
        "print('REPL still alive')\n"
    )
    proc = run_micropython(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("REPL still alive")
    return dict(line.split(" |", 1) for line in proc.stdout.splitlines()[:-1])


def test_corrupt_blobs_are_rejected_with_clear_messages(tmp_path: Path, blob: bytes) -> None:
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    newer = bytearray(blob)
    struct.pack_into("<H", newer, 4, 2)
    unknown_op = bytearray(blob)
    ops_off = struct.unpack_from("<I", blob, 40)[0]
    unknown_op[ops_off] = 200
    bad_offset = bytearray(blob)
    t_off = struct.unpack_from("<I", blob, 36)[0]
    struct.pack_into("<I", bad_offset, t_off + 20, 0x7FFFFFF0)  # tensor 0 offset
    errors = load_errors(tmp_path, {
        "good": blob,
        "empty": b"",
        "magic": b"XXXX" + blob[4:],
        "truncated": blob[: len(blob) - 100],
        "flipped": bytes(flipped),
        "newer": with_crc(newer),
        "unknown_op": with_crc(unknown_op),
        "bad_offset": with_crc(bad_offset),
    })
    assert errors["good"] == "loaded"
    assert errors["empty"] == "ValueError: not a ulab_ml model: too short (truncated file?)"
    assert errors["magic"].startswith("ValueError: not a ulab_ml model (bad magic)")
    assert errors["truncated"] == "ValueError: model is truncated (file shorter than its header says)"
    assert errors["flipped"] == "ValueError: corrupt model: CRC mismatch (damaged or partly copied file)"
    assert errors["newer"].startswith("ValueError: model format is newer than this ulab_ml supports")
    assert errors["unknown_op"].startswith("ValueError: model uses an operator this ulab_ml does not know")
    assert errors["bad_offset"] == "ValueError: corrupt model: tensor outside the arena"


def test_streamed_load_checks_the_arena_size_it_allocates_early(tmp_path: Path, blob: bytes) -> None:
    """A streamed load allocates the arena right after the weights buffer, from the header's
    arena size, before the loader has checked the header: a corrupt size must still get the
    loader's message, not a MemoryError or a wrong-sized arena."""
    def arena(n: int, crc: bool) -> bytes:
        b = bytearray(blob)
        struct.pack_into("<I", b, 24, n)
        return with_crc(b) if crc else bytes(b)

    errors = load_errors(tmp_path, {
        "good": blob,
        "huge": arena(0xFFFFFFF0, False),
        "huge_crc": arena(0x7FFFFFF0, True),
        "small_crc": arena(16, True),
    }, "stream")
    assert errors["good"] == "loaded"
    assert errors["huge"] == "ValueError: corrupt model: arena size out of range"
    assert errors["huge_crc"].startswith("MemoryError: ulab_ml: model needs 2147483632 bytes of RAM for its arena, ")
    assert errors["small_crc"] == "ValueError: corrupt model: tensor outside the arena"


def test_bad_inputs_leave_model_usable(tmp_path: Path, blob: bytes) -> None:
    (tmp_path / "m.uml").write_bytes(blob)
    script = """
from array import array
from ulab_ml import Model
m = Model.load('m.uml')
good = bytes(range(16))
ref = bytes(m.infer(good))
def attempt(label, f):
    try:
        f()
        print(label, '|ok')
    except Exception as e:
        print(label, '|' + type(e).__name__ + ': ' + str(e))
attempt('short', lambda: m.infer(bytes(15)))
attempt('long', lambda: m.infer(bytearray(17)))
attempt('float', lambda: m.infer(array('f', [0.0] * 4)))
attempt('list', lambda: m.infer([0] * 16))
attempt('int', lambda: m.infer(5))
attempt('small_out', lambda: m.infer(good, out=bytearray(3)))
attempt('float_out', lambda: m.infer(good, out=array('f', [0.0])))
attempt('array_b', lambda: m.infer(array('b', [v - 256 if v > 127 else v for v in good])))
attempt('memoryview', lambda: m.infer(memoryview(bytearray(good))))
out = bytearray(4)
attempt('user_out', lambda: m.infer(good, out=out))
print('same', bytes(m.infer(good)) == ref and bytes(out) == ref)
m.close()
attempt('closed', lambda: m.infer(good))
"""
    proc = run_micropython(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    res = dict(line.split(" |", 1) for line in lines if " |" in line)
    assert res["short"] == "ValueError: input buffer has the wrong size for this model's input"
    assert res["long"] == "ValueError: input buffer has the wrong size for this model's input"
    assert res["float"].startswith("TypeError: input must be bytes, bytearray, memoryview or array('b')")
    assert res["list"].startswith("TypeError")
    assert res["int"].startswith("TypeError")
    assert res["small_out"] == "ValueError: out buffer has the wrong size for this model's output"
    assert res["float_out"].startswith("TypeError: out must be bytearray")
    assert res["array_b"] == "ok" and res["memoryview"] == "ok" and res["user_out"] == "ok"
    assert "same True" in lines
    assert res["closed"] == "ValueError: model is closed"


def test_not_enough_memory_says_how_much(tmp_path: Path) -> None:
    # A valid model whose activations need ~3 MB, loaded on a 1 MB heap.
    b = ModelBuilder()
    x = b.tensor((1, 1000, 1000), "int8", 0.05, 0)
    y = b.tensor((1, 1000, 1000), "int8", 0.05, 0)
    b.op("RESHAPE", [x], [y], options("ReshapeOptionsT", newShape=[1, 1000, 1000]))
    w = b.tensor((4, 1000), "int8", 0.01, 0, data=random_int8(np.random.default_rng(1), (4, 1000)))
    z = b.tensor((1000, 4), "int8", 0.1, 0)
    b.op("FULLY_CONNECTED", [y, w, -1], [z], options("FullyConnectedOptionsT"))
    blob = convert(b.build([x], [z])).blob
    (tmp_path / "big.uml").write_bytes(blob)
    script = """
from ulab_ml import Model
try:
    Model.load('big.uml')
except MemoryError as e:
    print('MemoryError:', e)
print('alive')
"""
    proc = run_micropython(script, cwd=tmp_path, heapsize="1M")
    assert proc.returncode == 0, proc.stderr
    assert "MemoryError: ulab_ml: model needs" in proc.stdout and "bytes free" in proc.stdout
    assert proc.stdout.rstrip().endswith("alive")


def test_convert_refuses_unsupported_op_naming_it(tmp_path: Path) -> None:
    b = ModelBuilder()
    x = b.tensor((1, 8), "float32")
    y = b.tensor((1, 8), "float32")
    b.op("EXP", [x], [y])
    src = tmp_path / "exp.tflite"
    src.write_bytes(b.build([x], [y]))
    with pytest.raises(UnsupportedModel) as exc:
        convert(src.read_bytes())
    assert "unsupported op EXP (tensor dtypes: float32)" in str(exc.value)
    proc = subprocess.run([str(ULAB_ML), "convert", str(src), "-o", str(tmp_path / "exp.uml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "unsupported op EXP" in proc.stderr
    assert not (tmp_path / "exp.uml").exists()


def test_cli_run_rejects_wrong_input_shape(tmp_path: Path, fc_model: bytes) -> None:
    (tmp_path / "m.tflite").write_bytes(fc_model)
    np.save(tmp_path / "x.npy", np.zeros((2, 15), dtype=np.int8))
    proc = subprocess.run([str(ULAB_ML), "run", str(tmp_path / "m.tflite"), "--target", "unix",
                           "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "the model needs (N, 1, 16)" in proc.stderr
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 16), dtype=np.float32))
    proc = subprocess.run([str(ULAB_ML), "run", str(tmp_path / "m.tflite"), "--input", str(tmp_path / "x.npy"),
                           "--output", str(tmp_path / "y.npy")], capture_output=True, text=True)
    assert proc.returncode == 2 and "needs int8" in proc.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
