"""The TFLite flatbuffer schema module, as shipped inside the pinned `tflite-micro` package."""

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

__all__ = ["schema", "BUILTIN_NAMES", "TENSOR_TYPE_NAMES", "ACTIVATION_NAMES", "PADDING_NAMES"]


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_NAMES: dict[int, str] = _names(schema.BuiltinOperator)
TENSOR_TYPE_NAMES: dict[int, str] = {k: v.lower() for k, v in _names(schema.TensorType).items()}
ACTIVATION_NAMES: dict[int, str] = _names(schema.ActivationFunctionType)
PADDING_NAMES: dict[int, str] = _names(schema.Padding)
