# Type stubs for the on-board ulab_ml API (for IDE completion; MicroPython ignores them).
from array import array
from types import ModuleType
from typing import Literal, Sequence, Union

Buffer = Union[bytes, bytearray, memoryview, array]
WeightsMode = Literal["ram", "inplace", "stream"]
Backend = Literal["native", "python"]

__version__: str
BACKEND: Backend | None
"""None: the native module when it can be imported, else the pure-Python backend."""

class NativeModuleError(ImportError):
    """A ulab_ml native module is present but cannot be loaded here (wrong arch or version)."""

def native_arch() -> str | None:
    """This firmware's native-code architecture ("armv6m", "armv7emsp", "x64", ...), or None."""

class Model:
    """A loaded ulab_ml model."""

    mode: WeightsMode
    """Where the weights live: "ram", "inplace" (a buffer used where it lies) or "stream"."""
    backend: str
    """"native-<arch>" or "python"."""
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_bytes: int
    output_bytes: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    arena_size: int
    """Bytes of the activation arena allocated at load."""
    stream_buffer_bytes: int
    """Bytes of the weights buffer in "stream" mode (0 otherwise)."""
    stream_bytes_per_infer: int
    """Bytes read from the file per inference in "stream" mode (0 otherwise)."""

    def __init__(self, source: str | Buffer | ModuleType, mode: WeightsMode | None = None,
                 backend: Backend | None = None) -> None: ...
    @classmethod
    def load(cls, source: str | Buffer | ModuleType, mode: WeightsMode | None = None,
             backend: Backend | None = None) -> "Model":
        """Load a .uml model from a path, a buffer, or a module made by `ulab-ml convert --format
        mpy` (its MODEL bytes); validates it completely. mode None picks "ram" when the file fits
        the free heap, else "stream" (a buffer or module: "inplace", or "ram" if the buffer is
        not 4-byte aligned and had to be copied)."""
    @property
    def input_dtype(self) -> Literal["int8", "float32"]: ...
    @property
    def output_dtype(self) -> Literal["int8", "float32"]: ...
    def infer(self, buf: Buffer, out: Buffer | None = None) -> array:
        """Run the model on buf (int8 buffer, or array('f') for float-input models); returns
        out or the model's own output buffer (reused by the next call). Allocates nothing."""
    def close(self) -> None:
        """Free the model's memory; infer() raises ValueError afterwards."""
    def quantize(self, values: Sequence[float], out: array | None = None) -> array:
        """Floats -> int8 array('b') with the model's input scale and zero point."""
    def dequantize(self, buf: Buffer, out: array | None = None) -> array:
        """int8 values -> array('f') with the model's output scale and zero point."""

def quantize(values: Sequence[float], scale: float, zero_point: int, out: array | None = None) -> array:
    """Floats -> int8 array('b'): clamp(round(v / scale) + zero_point, -128, 127)."""

def dequantize(buf: Buffer, scale: float, zero_point: int, out: array | None = None) -> array:
    """int8 values -> array('f'): (q - zero_point) * scale."""

def argmax(buf: Buffer) -> int:
    """Index of the largest int8 value."""
