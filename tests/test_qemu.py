"""ulab_ml on emulated microcontrollers: MicroPython 1.25 firmwares for QEMU (boards/qemu-*).

(a) On each board, one boot runs a batch: the hello_world and AD autoencoder golden cases from
    ../shared/models must come out bit-exact with TFLite Micro's outputs; a job whose model does
    not fit the heap must be rejected with the bytes needed and free, and the batch go on.
(b) The armv6m native module (the one qemu-m0 and an RP2040 load) holds ARMv6-M code only.
Plus: a hung board raises TargetError, and `ulab-ml run --target qemu-m0` works end to end.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conformance.cases_fully_connected import make as make_fc
from tests.conformance.cases_pad import make as make_pad
from tests.conftest import SHARED_MODELS, build_qemu_boards
from ulab_ml_host import qemu
from ulab_ml_host.blob import parse_blob
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.paths import NATMOD_DIR
from ulab_ml_host.targets import Job, ModelRejected, TargetError, run_jobs

BOARDS = qemu.QEMU_BOARDS
GOLDEN_MODELS = ("tflm_hello_world", "mlperf_ad_fc_autoencoder")


@pytest.fixture(scope="module", autouse=True)
def built_boards() -> None:
    """Build the firmwares and ARM native modules (no-op when up to date)."""
    build_qemu_boards(tools=("qemu-system-arm", "arm-none-eabi-gcc", "arm-none-eabi-objdump"))


def _golden(model_dir: str) -> tuple[bytes, list[tuple[str, np.ndarray, np.ndarray]], dict]:
    gdir = SHARED_MODELS / model_dir / "golden"
    meta = json.loads((gdir / "golden.json").read_text())
    blob = convert((gdir.parent / meta["model"]).read_bytes()).blob
    cases = []
    for case in meta["cases"]:
        x = np.frombuffer((gdir / case["input_file"]).read_bytes(), dtype=meta["input"]["dtype"])
        y = np.frombuffer((gdir / case["output_file"]).read_bytes(), dtype=meta["output"]["dtype"])
        cases.append((f"{model_dir}/{case['case']}", x.reshape(meta["input"]["shape"]), y))
    return blob, cases, meta


@pytest.fixture(scope="module")
def golden() -> dict[str, tuple[bytes, list[tuple[str, np.ndarray, np.ndarray]], dict]]:
    missing = [m for m in GOLDEN_MODELS if not (SHARED_MODELS / m / "golden" / "golden.json").is_file()]
    if missing:
        pytest.skip(f"shared golden models not found: {', '.join(str(SHARED_MODELS / m) for m in missing)} "
                    "(expected ../shared/models relative to the repo, or set ULAB_ML_SHARED_MODELS)")
    return {m: _golden(m) for m in GOLDEN_MODELS}


@pytest.mark.parametrize("board", BOARDS)
def test_golden_batch_in_one_boot(board: str, golden: dict) -> None:
    """hello_world (automatic weights mode) and the AD autoencoder (weights in place in flash)
    bit-exact; AD with its weights copied to RAM (277 KB: more than any of these heaps) rejected
    with figures without stopping the batch; AD in automatic mode (weights streamed) bit-exact
    when the heap clearly has room for its stream buffer, else rejected the same way."""
    hello_blob, hello_cases, hello_meta = golden["tflm_hello_world"]
    ad_blob, ad_cases, ad_meta = golden["mlperf_ad_fc_autoencoder"]

    def job(blob: bytes, x: np.ndarray, meta: dict, mode: str | None) -> Job:
        return Job(blob, x[None], meta["output"]["dtype"], tuple(meta["output"]["shape"]), mode)

    jobs: list[Job] = []
    expect: list[tuple[str, str, np.ndarray]] = []  # (name, kind, golden output)
    for name, x, y in hello_cases:
        jobs.append(job(hello_blob, x, hello_meta, None))
        expect.append((name, "exact", y))
    for name, x, y in ad_cases:
        jobs.append(job(ad_blob, x, ad_meta, "inplace"))
        expect.append((name + " [inplace]", "exact", y))
    name, x, y = ad_cases[0]
    jobs.append(job(ad_blob, x, ad_meta, "ram"))
    expect.append((name + " [ram]", "rejected", y))
    name, x, y = hello_cases[0]
    jobs.append(job(hello_blob, x, hello_meta, "ram"))  # the batch goes on after a rejection
    expect.append((name + " [ram, after a rejection]", "exact", y))
    for name, x, y in ad_cases:
        jobs.append(job(ad_blob, x, ad_meta, None))
        expect.append((name + " [automatic]", "auto", y))

    boots_before = len(qemu.last_boots)
    results = run_jobs(board, jobs)
    boots = qemu.last_boots[boots_before:]
    assert len(boots) == 1, f"expected one boot for the batch, got {len(boots)}"
    rep = boots[0]
    print(f"\n{board}: heap free at boot {rep.free_at_boot} B, after importing ulab_ml {rep.free_after_load} B, "
          f"at the end {rep.free_at_end} B; {len(jobs)} jobs in {rep.seconds:.2f} s; modes {rep.modes}")

    b = parse_blob(ad_blob)
    stream_need = b.const_off + b.max_const_span + b.arena_size + b.input.nbytes + b.output.nbytes
    for (name, kind, y), got in zip(expect, results):
        if kind == "auto":
            kind = ("exact" if rep.free_after_load > stream_need + 32768
                    else "rejected" if rep.free_after_load < stream_need else "exact or rejected")
        if isinstance(got, np.ndarray) and kind != "rejected":
            diff = np.flatnonzero(got.reshape(-1) != y)
            assert diff.size == 0, (f"{board} {name}: {diff.size} elements differ; first at {diff[0]}: "
                                    f"ours {got.reshape(-1)[diff[0]]} vs TFLM {y[diff[0]]}")
        elif isinstance(got, ModelRejected) and kind != "exact":
            msg = str(got)
            assert re.search(r"needs about \d+ bytes of heap .*but \d+ bytes are free", msg), msg
        else:
            pytest.fail(f"{board} {name}: expected {kind}, got {got!r}")


@pytest.fixture(scope="module")
def fc_model() -> tuple[bytes, np.ndarray]:
    """A small generated FULLY_CONNECTED model and 5 inputs (no shared models needed)."""
    rng = np.random.default_rng(7)
    blob = convert(make_fc(rng, 1, 32, 10, True, True, "NONE")).blob
    return blob, rng.integers(-128, 128, size=(5, 1, 32), dtype=np.int8)


def test_hung_board_raises_target_error(fc_model: tuple[bytes, np.ndarray]) -> None:
    """A board that never answers (CPU halted: qemu -S) -> TargetError, QEMU stopped."""
    blob, x = fc_model
    with pytest.raises(TargetError, match="hung"):
        qemu.run_qemu("qemu-m3", [Job(blob, x, "int8", (1, 10))], idle_timeout=2.0, qemu_extra=("-S",))


def test_cli_run_on_qemu_m0_matches_unix(tmp_path: Path, fc_model: tuple[bytes, np.ndarray]) -> None:
    """`ulab-ml run MODEL --target qemu-m0 --input X.npy --output Y.npy`, same result as unix."""
    blob, x = fc_model
    (tmp_path / "m.uml").write_bytes(blob)
    np.save(tmp_path / "x.npy", x)
    outs = {}
    for target in ("qemu-m0", "unix"):
        out = tmp_path / f"y_{target}.npy"
        proc = subprocess.run([sys.executable, "-m", "ulab_ml_host.cli", "run", str(tmp_path / "m.uml"),
                               "--target", target, "--input", str(tmp_path / "x.npy"), "--output", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        outs[target] = np.load(out)
    assert outs["qemu-m0"].shape == (5, 1, 10)
    assert np.array_equal(outs["qemu-m0"], outs["unix"])


def test_large_output_comes_back_whole() -> None:
    """A model whose output is 30,976 bytes (a PAD of a 28,224-byte input): every byte comes back
    from qemu-m0 equal to TFLM's (the runner prints outputs in slices; one hex string of a whole
    output this size needs more heap than is left beside the model: the runner used to print a
    truncated line). qemu-m4's smaller heap cannot hold this model at all."""
    rng = np.random.default_rng(11)
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]])
    tfl = make_pad((1, 42, 42, 16), pads, (0.05, 3), (0.05, 3))
    x = rng.integers(-128, 128, size=(2, 1, 42, 42, 16), dtype=np.int8)
    (want,) = run_oracle([(tfl, x)])
    assert isinstance(want, np.ndarray), want
    assert want[0].nbytes == 30_976
    blob = convert(tfl).blob
    (got,) = run_jobs("qemu-m0", [Job(blob, x, "int8", (1, 44, 44, 16))])
    assert isinstance(got, np.ndarray), repr(got)
    diff = np.flatnonzero(got.reshape(-1) != want.reshape(-1))
    assert diff.size == 0, f"{diff.size} bytes differ, first at {diff[0]}"


# --- (b) the armv6m native module is ARMv6-M code ----------------------------------------------

# 32-bit Thumb instructions that ARMv6-M has; any other 32-bit encoding is Thumb-2 (ARMv7-M).
ARMV6M_32BIT = {"bl", "dmb", "dsb", "isb", "mrs", "msr"}
# 16-bit encodings that ARMv7-M added (not in ARMv6-M).
THUMB2_16BIT = re.compile(r"^(cbz|cbnz|it[te]{0,3})$")
_INSN = re.compile(r"^\s*[0-9a-f]+:\t([0-9a-f]{4})(?: ([0-9a-f]{4}))?\s*\t(\S+)")


def non_armv6m_instructions(paths: list[Path]) -> list[str]:
    """Disassemble (objdump, code sections only) and list instructions ARMv6-M does not have."""
    proc = subprocess.run(["arm-none-eabi-objdump", "-d", *map(str, paths)],
                          capture_output=True, text=True, check=True)
    bad, where = [], ""
    for line in proc.stdout.splitlines():
        if line.endswith(">:"):
            where = line
        m = _INSN.match(line)
        if not m:
            continue
        mnemonic = m.group(3).split(".")[0]
        if (m.group(2) is not None and mnemonic not in ARMV6M_32BIT) or THUMB2_16BIT.match(mnemonic):
            bad.append(f"{where} {line.strip()}")
    return bad


def _natmod_objects(arch: str) -> list[Path]:
    objs = sorted((NATMOD_DIR / f"build-{arch}").rglob("*.o"))
    if not objs:
        pytest.skip(f"no object files in {NATMOD_DIR / f'build-{arch}'} (scripts/build_natmod.sh {arch})")
    return objs


def test_armv6m_natmod_has_only_armv6m_instructions() -> None:
    """Every object linked into ulab_ml_armv6m.mpy, and the libgcc it links against
    (LINK_RUNTIME=1: division, 64-bit multiply, switch tables), is ARMv6-M code."""
    objs = _natmod_objects("armv6m")
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(objs[0])], capture_output=True, text=True).stdout
    assert "Tag_CPU_arch: v6S-M" in attrs or "Tag_CPU_arch: v6-M" in attrs, attrs
    libgcc = subprocess.run(["arm-none-eabi-gcc", "-mthumb", "-mcpu=cortex-m0", "-mfloat-abi=soft",
                             "-print-libgcc-file-name"], capture_output=True, text=True, check=True).stdout.strip()
    bad = non_armv6m_instructions([*objs, Path(libgcc)])
    assert not bad, f"{len(bad)} non-ARMv6-M instructions, e.g.:\n" + "\n".join(bad[:20])


def test_instruction_check_catches_thumb2() -> None:
    """Control for the check above: the armv7m build is full of Thumb-2 and must be flagged."""
    assert len(non_armv6m_instructions(_natmod_objects("armv7m"))) > 100


def test_script_output_read_with_the_ok_is_not_lost() -> None:
    """A short script's whole output, end marker included, can arrive in the same read as the raw
    REPL's "OK" (seen under load: the host then waited for output that had already come, and
    reported a hung board). script_lines must start from what start_script left in the buffer."""
    s = object.__new__(qemu._Session)
    s.buf = bytearray(b"ULML-READY 1\r\nULML-DONE 2\r\n\x04\x04>")

    def no_more(*args: object) -> bytes:
        raise AssertionError("read from the board although the end marker was in the buffer")

    s.read_some = no_more  # type: ignore[method-assign]
    assert list(s.script_lines(0.0, 0.0, lambda: "")) == ["ULML-READY 1", "ULML-DONE 2"]
    assert bytes(s.buf) == b"\x04>"
