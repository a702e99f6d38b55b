"""The host's figures for the CMSIS-NN build (docs/CMSIS_NN.md) without a CMSIS-NN checkout:
ulab_ml_host.cmsis_nn's arena (planned arena + CMSIS-NN's scratch tail) on layers whose scratch
is known by hand, and `ulab-ml inspect --cmsis-nn ARCH` / `ulab-ml fit --cmsis-nn` reporting it.
That these figures equal the boards' own is tests/test_cmsis_nn.py::test_host_arena_equals_device
(it needs CMSIS_NN_DIR)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tests.bench.layers import build_layers, small_model
from ulab_ml_host.blob import parse_blob, ram_per_mode
from ulab_ml_host.cli import main
from ulab_ml_host.cmsis_nn import cmsis_nn_arena_size
from ulab_ml_host.convert import convert
from ulab_ml_host.fit import cmsis_nn_build_in_use


def _align16(v: int) -> int:
    return (v + 15) // 16 * 16


@pytest.fixture(scope="module")
def layers() -> dict[str, bytes]:
    return {k: convert(t).blob for k, t in build_layers().items()}


@pytest.mark.parametrize("layer,tail_m0,tail_m4", [
    ("conv3x3", 2 * (9 * 16) * 2, 2 * (9 * 16) * 2),  # two int16 im2col columns of 3x3x16, either core
    ("dw3x3", 0, 0),                                   # the 3x3 depthwise kernels need none
    ("avgpool", 0, 64 * 4),                            # DSP: one int32 sum per channel
    ("fc640x128", 0, 0),
    ("softmax12", 0, 0),
])
def test_scratch_tail_by_hand(layers: dict[str, bytes], layer: str, tail_m0: int, tail_m4: int) -> None:
    blob = parse_blob(layers[layer])
    for arch, tail in (("armv6m", tail_m0), ("armv7m", tail_m0), ("x64", tail_m0), ("armv7emsp", tail_m4)):
        want = blob.arena_size if tail == 0 else _align16(blob.arena_size) + _align16(tail)
        assert cmsis_nn_arena_size(blob, arch) == want, (layer, arch)


def test_small_model_tail() -> None:
    """small_model's 3x3 convolution of 2 channels: 2 columns of 3*3*2 = 18 values padded to 20,
    int16: 80 bytes (the board's figure in tests/test_cmsis_nn.py::test_scratch_at_the_arena_tail)."""
    blob = parse_blob(convert(small_model()).blob)
    assert cmsis_nn_arena_size(blob, "armv6m") == _align16(blob.arena_size) + 80


def test_unknown_arch() -> None:
    blob = parse_blob(convert(small_model()).blob)
    with pytest.raises(ValueError, match="unknown architecture"):
        cmsis_nn_arena_size(blob, "riscv")


def test_inspect_cmsis_nn(tmp_path: Path, capsys: pytest.CaptureFixture[str], layers: dict[str, bytes]) -> None:
    path = tmp_path / "avgpool.uml"
    path.write_bytes(layers["avgpool"])
    blob = parse_blob(layers["avgpool"])
    assert main(["inspect", str(path), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "cmsis_nn" not in plain and plain["arena_bytes"] == blob.arena_size
    assert main(["inspect", str(path), "--json", "--cmsis-nn", "armv7emsp"]) == 0
    dsp = json.loads(capsys.readouterr().out)
    arena = _align16(blob.arena_size) + 256
    assert dsp["arena_bytes"] == arena
    assert dsp["cmsis_nn"] == {"arch": "armv7emsp", "planned_arena_bytes": blob.arena_size,
                               "scratch_tail_bytes": arena - blob.arena_size}
    assert dsp["ram_bytes"] == ram_per_mode(replace(blob, arena_size=arena))
    assert all(dsp["ram_bytes"][m] > plain["ram_bytes"][m] for m in plain["ram_bytes"])
    assert main(["inspect", str(path), "--cmsis-nn", "armv6m"]) == 0
    assert f"arena {blob.arena_size} bytes (CMSIS-NN build for armv6m: planned {blob.arena_size} + scratch " \
           "tail 0)" in capsys.readouterr().out


def test_fit_cmsis_nn(tmp_path: Path, capsys: pytest.CaptureFixture[str], layers: dict[str, bytes]) -> None:
    path = tmp_path / "avgpool.uml"
    path.write_bytes(layers["avgpool"])
    blob = parse_blob(layers["avgpool"])
    assert main(["fit", str(path), "--board", "stm32f4", "--no-measure", "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert ("cmsis_nn" in plain) == cmsis_nn_build_in_use()  # implied by ULAB_ML_NATMOD_DIR=.cache/natmod-cmsis
    assert main(["fit", str(path), "--board", "stm32f4", "--no-measure", "--json", "--cmsis-nn"]) == 0
    rep = json.loads(capsys.readouterr().out)
    arena = _align16(blob.arena_size) + 256
    assert rep["cmsis_nn"]["arena_bytes"] == arena and rep["cmsis_nn"]["arch"] == "armv7emsp"
    assert rep["cmsis_nn"]["scratch_tail_bytes"] == arena - blob.arena_size
    want = ram_per_mode(replace(blob, arena_size=arena))
    for mode, m in rep["modes"].items():
        assert m["ram_bytes"] == want[mode] > ram_per_mode(blob)[mode], mode
    assert main(["fit", str(path), "--board", "rp2040", "--no-measure", "--cmsis-nn"]) == 0
    assert "CMSIS-NN build (--cmsis-nn): arena" in capsys.readouterr().out


def test_fit_counts_the_cmsis_nn_module(layers: dict[str, bytes]) -> None:
    """With --cmsis-nn the import's heap is the CMSIS-NN build's module size: ULAB_ML_NATMOD_DIR's
    module when it names a build, else .cache/natmod-cmsis's when that was built."""
    from ulab_ml_host.fit import CMSIS_NATMOD_DIR, PACKAGE_HEAP, fit_report, load_board
    from ulab_ml_host.paths import CACHE, NATMOD_DIR, natmod_path

    board = load_board("stm32f4")
    rep = fit_report(parse_blob(layers["avgpool"]), board, cmsis_nn=True)
    mpy = natmod_path(board.arch)
    if NATMOD_DIR == (CACHE / "natmod").absolute() and (CMSIS_NATMOD_DIR / mpy.name).exists():
        mpy = CMSIS_NATMOD_DIR / mpy.name
    assert rep["cmsis_nn"]["native_module"] == str(mpy)
    if mpy.exists():
        assert rep["heap_available_bytes"] == board.free_heap_bytes - mpy.stat().st_size - PACKAGE_HEAP
