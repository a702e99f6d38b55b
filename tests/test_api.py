"""The on-device API on the unix port: attributes, helpers, and no allocation in infer()."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conformance.builder import ModelBuilder, options, random_int8
from tests.conformance.cases_fully_connected import make as make_fc
from tests.device import run_micropython
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.tflite_reader import read_tflite


@pytest.fixture(scope="module")
def fc_tflite() -> bytes:
    return make_fc(np.random.default_rng(3), 1, 32, 10, True, True, "NONE")


def test_attributes_match_the_tflite_model(tmp_path: Path, fc_tflite: bytes) -> None:
    g = read_tflite(fc_tflite)
    tin, tout = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    (tmp_path / "m.uml").write_bytes(convert(fc_tflite).blob)
    proc = run_micropython(
        "from ulab_ml import Model\n"
        "m = Model.load('m.uml')\n"
        "print(m.input_shape, m.output_shape, m.input_zero_point, m.output_zero_point)\n"
        "print(repr(m.input_scale), repr(m.output_scale))\n"
        "print(m.input_dtype, m.output_dtype, m.arena_size, m.backend)\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    l1, l2, l3 = proc.stdout.splitlines()
    assert l1 == f"{tuple(tin.shape)} {tuple(tout.shape)} {tin.zero_point} {tout.zero_point}"
    scales = [float(v) for v in l2.split()]
    assert np.float32(scales[0]) == np.float32(tin.scale) and np.float32(scales[1]) == np.float32(tout.scale)
    assert l3.startswith("int8 int8 ") and l3.endswith(" native-x64")


def test_quantize_helpers_and_argmax(tmp_path: Path, fc_tflite: bytes) -> None:
    """model.quantize -> infer -> argmax/dequantize on the board agrees with TFLM."""
    g = read_tflite(fc_tflite)
    tin, tout = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    (tmp_path / "m.uml").write_bytes(convert(fc_tflite).blob)
    floats = np.linspace(-0.9, 1.3, 32)
    proc = run_micropython(
        "import ulab_ml\nfrom ulab_ml import Model\n"
        "m = Model.load('m.uml')\n"
        f"q = m.quantize({[float(v) for v in floats]!r})\n"
        "print(list(q))\n"
        "y = m.infer(q)\n"
        "print(list(y))\n"
        "print(ulab_ml.argmax(y))\n"
        "print(list(m.dequantize(y)))\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    q = np.array(eval(lines[0]), dtype=np.int8)
    expected_q = np.clip(np.floor(np.abs(floats / tin.scale) + 0.5) * np.sign(floats) + tin.zero_point, -128, 127)
    assert np.array_equal(q, expected_q.astype(np.int8))
    (expected,) = run_oracle([(fc_tflite, q.reshape(1, 1, 32))])
    y = np.array(eval(lines[1]), dtype=np.int8)
    assert np.array_equal(y, np.asarray(expected).reshape(-1))
    assert int(lines[2]) == int(np.argmax(y))
    deq = np.array(eval(lines[3]))
    assert np.allclose(deq, (y.astype(np.float64) - tout.zero_point) * tout.scale, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("mode", ["ram", "stream", "inplace"])
def test_infer_allocates_nothing(tmp_path: Path, fc_tflite: bytes, mode: str) -> None:
    (tmp_path / "m.uml").write_bytes(convert(fc_tflite).blob)
    load = "Model.load(open('m.uml', 'rb').read())" if mode == "inplace" else f"Model.load('m.uml', {mode!r})"
    script = f"""
import gc, micropython
from ulab_ml import Model
m = {load}
assert m.mode == {mode!r}, m.mode
x = bytes(32)
out = bytearray(10)
ok = False
before = after = 0
y = None
def run(m, x, out):
    for i in range(200):
        y = m.infer(x)
        m.infer(x, out=out)
    return y
run(m, x, out)
# Bytes ever allocated on the heap (MICROPY_MEM_STATS): counts even blocks freed at once,
# such as a Python frame too big for the C stack.
before = micropython.mem_total()
y = run(m, x, out)
after = micropython.mem_total()
micropython.heap_lock()
try:
    y = run(m, x, out)
    ok = True
except MemoryError:
    ok = False
micropython.heap_unlock()
print('heap-locked infer ok:', ok, 'bytes allocated by 400 calls:', after - before)
"""
    proc = run_micropython(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "heap-locked infer ok: True bytes allocated by 400 calls: 0"


def test_soak_100k_inferences_no_heap_growth(tmp_path: Path, fc_tflite: bytes) -> None:
    (tmp_path / "m.uml").write_bytes(convert(fc_tflite).blob)
    script = """
import gc
from ulab_ml import Model
m = Model.load('m.uml')
x = bytearray(32)
before = after = 0
y = None
def soak(m, x, n):
    for i in range(n):
        x[i & 31] = i & 0xff
        y = m.infer(x)
    return y
soak(m, x, 10)
gc.collect()
before = gc.mem_free()
y = soak(m, x, 100000)
after = gc.mem_free()
print('growth', before - after)
"""
    proc = run_micropython(script, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "growth 0"


def test_type_stubs_match_the_module() -> None:
    """ulab_ml/__init__.pyi declares exactly the public names of ulab_ml and of Model."""
    import ast

    from tests.conftest import ROOT

    def public(tree: ast.Module) -> tuple[set[str], set[str]]:
        top, model = set(), set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                top.add(node.name)
            if isinstance(node, ast.ClassDef) and node.name == "Model":
                for item in ast.walk(node):
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                        model.add(item.name)
                    is_self_attr = (isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store)
                                    and isinstance(item.value, ast.Name) and item.value.id == "self")
                    if is_self_attr and not item.attr.startswith("_"):
                        model.add(item.attr)
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        model.add(item.target.id)
        return top, model

    src_top, src_model = public(ast.parse((ROOT / "ulab_ml" / "__init__.py").read_text()))
    pyi_top, pyi_model = public(ast.parse((ROOT / "ulab_ml" / "__init__.pyi").read_text()))
    assert src_top == pyi_top
    assert src_model == pyi_model


def _fc_chain(n_layers: int, width: int) -> bytes:
    """FULLY_CONNECTED width -> width, n_layers times: a file of several KB whose every op's
    weights are under 1 KB."""
    rng = np.random.default_rng(5)
    b = ModelBuilder()
    x = first = b.tensor((1, width), "int8", 0.05, -2)
    for _ in range(n_layers):
        w = b.tensor((width, width), "int8", 0.01, 0, data=random_int8(rng, (width, width)))
        y = b.tensor((1, width), "int8", 0.06, 3)
        b.op("FULLY_CONNECTED", [x, w, -1], [y], options("FullyConnectedOptionsT"))
        x = y
    return b.build([first], [x])


def test_automatic_mode_streams_when_the_heap_has_no_block_for_the_file(tmp_path: Path) -> None:
    """Model.load(path) picks "ram" when the free heap is large enough in all; if no free block
    is as large as the file (a fragmented heap), it streams instead of failing, and computes the
    same outputs."""
    blob = convert(_fc_chain(6, 24)).blob
    assert len(blob) > 3000
    (tmp_path / "m.uml").write_bytes(blob)
    script = """
import gc
from ulab_ml import Model
x = bytes(range(24))
ref = bytes(Model.load(open('m.uml', 'rb').read()).infer(x))
size = len(open('m.uml', 'rb').read())
# the heap as many 1 KB blocks with 1 KB holes between them: half of it free, no block over 1 KB
keep = []
try:
    while True:
        keep.append(bytearray(1008))
except MemoryError:
    pass
for i in range(0, len(keep), 2):
    keep[i] = None
gc.collect()
free = gc.mem_free()
m = Model.load('m.uml')
print(m.mode, free > 4 * size, bytes(m.infer(x)) == ref)
"""
    proc = run_micropython(script, cwd=tmp_path, heapsize="400K")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["stream", "True", "True"]
