"""Reading .tflite files: op codes as TFLite Micro reads them, unused op codes, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conformance.builder import ModelBuilder, options, random_int8
from ulab_ml_host.convert import convert
from ulab_ml_host.oracle import run_oracle
from ulab_ml_host.schema import schema
from ulab_ml_host.targets import Job, run_jobs
from ulab_ml_host.tflite_reader import TFLiteReadError, read_tflite


def fc_model(builder: ModelBuilder) -> tuple[int, int]:
    x = builder.tensor((1, 8), "int8", 0.05, 3)
    w = builder.tensor((4, 8), "int8", 0.01, 0, data=random_int8(np.random.default_rng(5), (4, 8)))
    y = builder.tensor((1, 4), "int8", 0.08, -2)
    builder.op("FULLY_CONNECTED", [x, w, -1], [y], options("FullyConnectedOptionsT"))
    return x, y


def repack(model_bytes: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    import flatbuffers
    m = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    edit(m)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def run_both(model: bytes) -> None:
    x = random_int8(np.random.default_rng(9), (4, 1, 8))
    conv = convert(model)
    (ours,) = run_jobs("unix", [Job(conv.blob, x, "int8", (1, 4))])
    (expected,) = run_oracle([(model, x)])
    assert isinstance(expected, np.ndarray) and isinstance(ours, np.ndarray)
    assert np.array_equal(ours, expected.reshape(ours.shape))


def test_op_code_is_max_of_builtin_and_deprecated_code() -> None:
    b = ModelBuilder()
    x, y = fc_model(b)
    base = b.build([x], [y])

    def old_style(m) -> None:  # type: ignore[no-untyped-def]
        # Files written before the 32-bit op code field: builtinCode 0, the real code in the
        # deprecated field.
        m.operatorCodes[0].builtinCode = 0
        m.operatorCodes[0].deprecatedBuiltinCode = schema.BuiltinOperator.FULLY_CONNECTED

    model = repack(base, old_style)
    assert read_tflite(model).ops[0].name == "FULLY_CONNECTED"
    run_both(model)


def test_unused_op_codes_are_ignored() -> None:
    b = ModelBuilder()
    x, y = fc_model(b)
    base = b.build([x], [y])

    def add_unused(m) -> None:  # type: ignore[no-untyped-def]
        for code in (schema.BuiltinOperator.SVDF, schema.BuiltinOperator.EXP):
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = code
            oc.version = 1
            m.operatorCodes.append(oc)

    model = repack(base, add_unused)
    assert {"SVDF", "EXP"} <= set(read_tflite(model).opcode_names)
    run_both(model)


@pytest.mark.parametrize("data", [b"", b"TFL3", b"\x00" * 64, b"1234TFL3" + b"\xff" * 40])
def test_not_a_tflite_file(data: bytes) -> None:
    with pytest.raises(TFLiteReadError):
        read_tflite(data)
