# ulab_ml: int8 neural-network inference for MicroPython, bit-exact with TFLite Micro.
#
#   from ulab_ml import Model
#   m = Model.load("model.uml")
#   scores = m.infer(features)
#
# Load-time allocations (all at Model.load, none in infer): the blob (one bytearray of the
# file's size, filled with readinto; none when a buffer is passed), the engine state
# (STATE_SIZE bytes), the arena (arena_size bytes) and the output buffer.
import sys
import struct
from array import array

__version__ = "0.1.0"

_ARCHS = ("", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp",
          "armv7emdp", "xtensa", "xtensawin", "rv32imc")
# Native modules a firmware of each arch can also load (older instruction sets).
_COMPATIBLE = {
    "armv7em": ("armv7m", "armv6m"),
    "armv7emsp": ("armv7m", "armv6m"),
    "armv7emdp": ("armv7emsp", "armv7m", "armv6m"),
    "armv7m": ("armv6m",),
}
_DTYPE_INT8 = 1
_DTYPE_FLOAT32 = 5


def native_arch():
    """Architecture name of this firmware's native code, or None if it cannot load natmods."""
    mpy = getattr(sys.implementation, "_mpy", 0)
    arch = (mpy >> 10) & 0x0F
    return _ARCHS[arch] if 0 < arch < len(_ARCHS) else None


def _load_native():
    arch = native_arch()
    if arch is None:
        raise ImportError("ulab_ml: this MicroPython cannot load native modules")
    errors = []
    for a in (arch,) + _COMPATIBLE.get(arch, ()):
        try:
            return __import__("ulab_ml_" + a)
        except ImportError as e:
            errors.append(str(e))
        except ValueError as e:  # incompatible .mpy (wrong arch or version)
            errors.append(str(e))
    raise ImportError("ulab_ml: native module ulab_ml_%s.mpy not found or not loadable "
                      "(copy it to the board; this firmware needs arch %s): %s"
                      % (arch, arch, "; ".join(errors)))


_native = None


def _backend():
    global _native
    if _native is None:
        _native = _load_native()
    return _native


def _f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


class Model:
    """A loaded ulab_ml model. Create with Model.load(path_or_buffer)."""

    def __init__(self, blob):
        nat = _backend()
        self._nat = nat
        self._blob = blob
        self._state = bytearray(nat.STATE_SIZE)
        arena_size, self.stream_bytes, ins, outs = nat.load(blob, self._state)
        self.arena_size = arena_size
        try:
            self._arena = bytearray(arena_size if arena_size > 0 else 16)
        except MemoryError:
            free = ""
            try:
                import gc
                gc.collect()
                free = ", %d bytes free" % gc.mem_free()
            except (ImportError, AttributeError):
                pass
            raise MemoryError("ulab_ml: model needs %d bytes of RAM for its arena%s"
                              % (arena_size, free))
        (self._in_dtype, self.input_shape, self.input_bytes, self.input_zero_point,
         scale_bits) = ins[0]
        self.input_scale = _f32(scale_bits)
        (self._out_dtype, self.output_shape, self.output_bytes, self.output_zero_point,
         scale_bits) = outs[0]
        self.output_scale = _f32(scale_bits)
        if self._out_dtype == _DTYPE_FLOAT32:
            self._out = array("f", bytes(self.output_bytes))
        else:
            self._out = array("b", bytes(self.output_bytes))
        self.backend = "native-" + native_arch()

    @classmethod
    def load(cls, source):
        """Load a model from a file path or from a bytes-like object holding a .uml blob."""
        if isinstance(source, str):
            import os
            size = os.stat(source)[6]
            blob = bytearray(size)
            with open(source, "rb") as f:
                n = f.readinto(blob)
            if n != size:
                raise ValueError("could not read the whole model file")
            return cls(blob)
        return cls(source)

    @property
    def input_dtype(self):
        return "float32" if self._in_dtype == _DTYPE_FLOAT32 else "int8"

    @property
    def output_dtype(self):
        return "float32" if self._out_dtype == _DTYPE_FLOAT32 else "int8"

    def infer(self, buf, out=None):
        """Run the model on buf (int8: bytes/bytearray/memoryview/array('b'); float32
        models: array('f')). Returns out, or the model's own output buffer (reused by the
        next call). Allocates nothing."""
        if self._state is None:
            raise ValueError("model is closed")
        if out is None:
            out = self._out
        self._nat.invoke(self._state, self._blob, self._arena, buf, out)
        return out

    def close(self):
        """Free the model's memory; infer() raises afterwards."""
        self._state = None
        self._arena = None
        self._blob = None

    def quantize(self, values, out=None):
        """Float values -> int8 array('b') with the model's input scale and zero point."""
        return quantize(values, self.input_scale, self.input_zero_point, out)

    def dequantize(self, buf, out=None):
        """int8 output values -> array('f') with the model's output scale and zero point."""
        return dequantize(buf, self.output_scale, self.output_zero_point, out)


def _round(x):
    # Round half away from zero (as TFLite's std::round).
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def quantize(values, scale, zero_point, out=None):
    n = len(values)
    if out is None:
        out = array("b", bytes(n))
    for i in range(n):
        q = _round(values[i] / scale) + zero_point
        out[i] = -128 if q < -128 else (127 if q > 127 else q)
    return out


def dequantize(buf, scale, zero_point, out=None):
    # bytes/bytearray hold int8 values as 0..255; array('b') holds them signed.
    n = len(buf)
    if out is None:
        out = array("f", bytes(4 * n))
    for i in range(n):
        v = buf[i]
        if v > 127:
            v -= 256
        out[i] = (v - zero_point) * scale
    return out


def argmax(buf):
    """Index of the largest int8 value in buf."""
    best = 0
    bv = None
    for i in range(len(buf)):
        v = buf[i]
        if v > 127:
            v -= 256
        if bv is None or v > bv:
            best, bv = i, v
    return best
