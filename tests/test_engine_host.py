"""The C engine on its own (no MicroPython), built with AddressSanitizer + UBSan:
bit-exact on the golden cases, and never crashing on corrupt blobs (seeded mutations)."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conftest import ROOT, SEED, SHARED_MODELS
from ulab_ml_host.convert import convert
from ulab_ml_host.lowering import UnsupportedModel
from ulab_ml_host.pack import blob_crc

HARNESS = ROOT / ".cache" / "host" / "uml_run"


@pytest.fixture(scope="module", autouse=True)
def harness() -> Path:
    subprocess.run(["bash", str(ROOT / "scripts" / "build_host_engine.sh")], check=True)
    return HARNESS


def run_harness(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(HARNESS), *args], capture_output=True, text=True, timeout=timeout)


def shared_blobs() -> list[tuple[str, bytes]]:
    out = []
    for gj in sorted(SHARED_MODELS.glob("*/golden/golden.json")):
        meta = json.loads(gj.read_text())
        try:
            out.append((gj.parent.parent.name, convert((gj.parent.parent / meta["model"]).read_bytes()).blob))
        except UnsupportedModel:
            continue
    return out


def own_blobs() -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(SEED)
    return [("fc_per_channel", convert(make_fc(rng, 2, 24, 8, True, True, "RELU")).blob),
            ("fc_per_tensor", convert(make_fc(rng, 1, 7, 3, False, False, "NONE")).blob)]


def test_golden_cases_bit_exact_on_host_engine(tmp_path: Path) -> None:
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"third-party model suite not found at {SHARED_MODELS}")
    checked = 0
    for gj in sorted(SHARED_MODELS.glob("*/golden/golden.json")):
        meta = json.loads(gj.read_text())
        blob = convert((gj.parent.parent / meta["model"]).read_bytes()).blob
        (tmp_path / "m.uml").write_bytes(blob)
        for case in meta["cases"]:
            proc = run_harness([str(tmp_path / "m.uml"), str(gj.parent / case["input_file"]), str(tmp_path / "o.bin")])
            assert proc.returncode == 0, proc.stderr
            assert (tmp_path / "o.bin").read_bytes() == (gj.parent / case["output_file"]).read_bytes(), \
                f"{gj.parent.parent.name}/{case['case']} differs from TFLite Micro"
            checked += 1
    assert checked >= 30


def mutate(blob: bytes, rng: np.random.Generator, kind: int) -> bytes:
    b = bytearray(blob)
    if kind == 0:    # flip one bit anywhere
        i = int(rng.integers(len(b)))
        b[i] ^= 1 << int(rng.integers(8))
    elif kind == 1:  # overwrite a 32-bit word with an interesting value
        i = int(rng.integers(0, len(b) - 4)) & ~3
        v = int(rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 0x10000,
                            int(rng.integers(0, 2**32))]))
        struct.pack_into("<I", b, i, v)
    elif kind == 2:  # truncate
        b = b[: int(rng.integers(0, len(b)))]
    else:            # header and table bytes
        i = int(rng.integers(0, min(len(b), 512)))
        b[i] = int(rng.integers(256))
    return bytes(b)


def fix_crc(b: bytes) -> bytes:
    if len(b) < 64:
        return b
    out = bytearray(b)
    size = struct.unpack_from("<I", out, 8)[0]
    if 16 <= size <= len(out):
        struct.pack_into("<I", out, 12, blob_crc(out))
    return bytes(out)


@pytest.mark.parametrize("recrc", [False, True], ids=["raw", "crc-fixed"])
def test_mutated_blobs_never_crash(tmp_path: Path, recrc: bool) -> None:
    """Raw mutations must all be rejected (CRC, size or header checks). Mutations with a
    recomputed CRC reach the deeper validation: each must be rejected or run cleanly, with no
    sanitizer report, crash or hang."""
    rng = np.random.default_rng([SEED, int(recrc)])
    blobs = own_blobs() + (shared_blobs() if SHARED_MODELS.is_dir() else [])
    per_blob = 400 // len(blobs) + 1
    outcomes = {0: 0, 2: 0}
    for name, blob in blobs:
        for k in range(per_blob):
            kind = k % 4
            data = mutate(blob, rng, kind)
            if recrc:
                data = fix_crc(data)
            if data == blob:
                continue
            path = tmp_path / "mut.uml"
            path.write_bytes(data)
            proc = run_harness([str(path)])
            assert proc.returncode in (0, 2) and "Sanitizer" not in proc.stderr, \
                f"{name} mutation {k} (kind {kind}): exit {proc.returncode}\n{proc.stderr[-3000:]}"
            if not recrc and kind != 2:
                # A changed byte inside the blob must never load (CRC); a change in padding
                # past blob_size could, but pack() writes none.
                assert proc.returncode == 2, f"{name} mutation {k} loaded despite corruption"
            outcomes[proc.returncode] += 1
    assert outcomes[2] > 0


def test_fully_connected_shape_product_overflow_is_rejected(tmp_path: Path) -> None:
    """batches * out_depth = 65537 * 65536 wraps to 65536 in int32: a crafted blob whose
    output holds 65536 elements must still be rejected, not run past its output."""
    from ulab_ml_host.lowering import LOp, LoweredModel, LTensor
    from ulab_ml_host.pack import pack
    from ulab_ml_host.plan import plan_memory

    model = LoweredModel()
    model.tensors = [
        LTensor("x", "int8", (65537, 1)),
        LTensor("w", "int8", (65536, 1), bytes(65536)),
        LTensor("mult", "int32", (1,), np.array([1 << 30], "<i4").tobytes()),
        LTensor("shift", "int32", (1,), np.array([0], "<i4").tobytes()),
        LTensor("y", "int8", (65536,)),
    ]
    model.ops = [LOp("FULLY_CONNECTED", [0, 1, None, 2, 3], 4, [0, 0, 0, -128, 127])]
    model.inputs, model.outputs = [0], [4]
    (tmp_path / "m.uml").write_bytes(pack(model, plan_memory(model)))
    proc = run_harness([str(tmp_path / "m.uml")])
    assert proc.returncode == 2, proc.stderr
    assert "FULLY_CONNECTED output shape" in proc.stderr
