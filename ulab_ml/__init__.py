# ulab_ml: int8 neural-network inference for MicroPython, bit-exact with TFLite Micro.
#
#   from ulab_ml import Model
#   m = Model.load("model.uml")
#   scores = m.infer(features)
#
# Where the weights live (Model.mode), chosen by Model.load, or forced with mode=:
#   "ram"     the file is read into one bytearray with readinto (no second copy)
#   "inplace" a buffer you pass (e.g. a frozen bytes object in flash) is used where it lies;
#             also a module written by `ulab-ml convert --format mpy` (its MODEL bytes). A
#             buffer that is not 4-byte aligned is copied to RAM once ("ram")
#   "stream"  the weights stay in the file and are read op by op into one buffer of
#             stream_buffer_bytes during infer(); for models larger than the free heap (also
#             chosen when "ram" was, but the heap has no free block as large as the file)
# Load-time allocations kept while the model is loaded (none in infer): the blob (ram) or the
# blob's head before its weights (stream), the engine state (STATE_SIZE bytes), the arena
# (arena_size bytes), the output buffer, this object, and for stream one weights buffer
# (stream_buffer_bytes) and the open file (docs/MEMORY.md, "What Model.load allocates").
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
_DTYPE_FLOAT32 = 5
_HEADER_SIZE = 64
_RAM_MARGIN = 2048  # bytes left free when choosing "ram" automatically
# ... and the blob and arena may take at most this share of the free heap: they need
# contiguous blocks, which a fragmented heap may not have even when the total is enough.
_RAM_SHARE = 0.75


def native_arch():
    """Architecture name of this firmware's native code, or None if it cannot load natmods."""
    mpy = getattr(sys.implementation, "_mpy", 0)
    arch = (mpy >> 10) & 0x0F
    return _ARCHS[arch] if 0 < arch < len(_ARCHS) else None


class NativeModuleError(ImportError):
    """A ulab_ml native module is on the board but cannot be loaded here (wrong architecture
    or .mpy version): the pure-Python fallback is not used then, so the mistake shows."""


def _load_native():
    arch = native_arch()
    if arch is None:
        raise ImportError("ulab_ml: this MicroPython cannot load native modules")
    missing = []
    for a in (arch,) + _COMPATIBLE.get(arch, ()):
        try:
            return __import__("ulab_ml_" + a)
        except ImportError as e:
            missing.append(str(e))
        except ValueError as e:  # the file is there but incompatible (wrong arch or version)
            raise NativeModuleError(
                "ulab_ml: native module ulab_ml_%s.mpy is not loadable (copy the one built for "
                "arch %s, which this firmware needs): %s" % (a, arch, e))
    raise ImportError("ulab_ml: native module ulab_ml_%s.mpy not found (copy it to the board; "
                      "this firmware needs arch %s): %s" % (arch, arch, "; ".join(missing)))


# Backend: None picks the native module when it can be imported, else (no native module on
# the board, or a port that cannot load one) the pure-Python one, saying so once
# (ulab_ml/_pure.py, docs/PURE_PYTHON.md); a native module of the wrong architecture raises
# NativeModuleError instead. "native" or "python" forces one (also per model:
# Model.load(src, backend=...)).
BACKEND = None

_native = None


def _backend(name=None):
    global _native
    name = name or BACKEND
    if name == "python":
        from . import _pure
        return _pure
    if name not in (None, "native"):
        raise ValueError("backend must be 'native' or 'python' (got %r)" % (name,))
    if _native is None:
        try:
            _native = _load_native()
        except NativeModuleError:
            raise
        except ImportError as e:
            if name == "native":
                raise
            from . import _pure
            _native = _pure
            print("%s; using the pure-Python backend (much slower)" % e)
    if name == "native" and getattr(_native, "BACKEND", None) == "python":
        _native = _load_native()
    return _native


def _f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _mem_free():
    try:
        import gc
        gc.collect()
        return gc.mem_free()
    except (ImportError, AttributeError):
        return None


def _alloc(n, what):
    try:
        return bytearray(n)
    except MemoryError:
        free = _mem_free()
        raise MemoryError("ulab_ml: model needs %d bytes of RAM for its %s%s"
                          % (n, what, "" if free is None else ", %d bytes free" % free))


class Model:
    """A loaded ulab_ml model. Create with Model.load(path_or_buffer, mode=None)."""

    def __init__(self, source, mode=None, backend=None):
        nat = _backend(backend)
        self._nat = nat
        self._file = None
        new_state = getattr(nat, "new_state", None)
        self._state = new_state() if new_state else bytearray(nat.STATE_SIZE)
        self.stream_buffer_bytes = 0
        self.stream_bytes_per_infer = 0
        self._arena = None
        if not isinstance(source, str):
            source = getattr(source, "MODEL", source)  # a module from `ulab-ml convert --format mpy`
        if isinstance(source, str):
            import os
            size = os.stat(source)[6]
            auto = mode is None
            if auto:
                mode = self._choose_mode(source, size)
            if mode == "ram":
                try:
                    info = self._load_ram(source, size)
                except MemoryError:
                    if not auto:
                        raise
                    mode = "stream"  # enough free heap in all, but no block for the file: stream it
                    info = self._load_stream(source, size)
            elif mode == "stream":
                info = self._load_stream(source, size)
            else:
                raise ValueError("mode must be 'ram' or 'stream' for a file (got %r)" % (mode,))
        else:
            if mode not in (None, "inplace", "ram"):
                raise ValueError("mode must be 'inplace' or 'ram' for a buffer (got %r)" % (mode,))
            if mode == "ram":
                source = bytearray(source)
            try:
                info = nat.load(source, self._state)
                mode = mode or "inplace"
            except ValueError as e:
                if "aligned" not in str(e):
                    raise
                source = bytearray(source)  # unaligned buffer: one copy in RAM
                info = nat.load(source, self._state)
                mode = "ram"
            self._blob = source
        self.mode = mode
        arena_size, span, ins, outs = info
        self.arena_size = arena_size
        if self._arena is None or len(self._arena) != max(arena_size, 16):
            self._arena = None
            self._arena = _alloc(max(arena_size, 16), "arena")
        if self._file is None:
            self._ctx = (self._state, self._blob, self._arena)
        else:
            self._ctx = (self._state, self._blob, self._arena, self._span, self._file)
        (self._in_dtype, self.input_shape, self.input_bytes, self.input_zero_point,
         scale_bits) = ins[0]
        self.input_scale = _f32(scale_bits)
        (self._out_dtype, self.output_shape, self.output_bytes, self.output_zero_point,
         scale_bits) = outs[0]
        self.output_scale = _f32(scale_bits)
        typecode = "f" if self._out_dtype == _DTYPE_FLOAT32 else "b"
        self._out = array(typecode, bytes(self.output_bytes))
        self.backend = getattr(nat, "BACKEND", None) or "native-" + native_arch()

    @classmethod
    def load(cls, source, mode=None, backend=None):
        """Load a model from a file path, a bytes-like object holding a .uml blob, or a module
        made by `ulab-ml convert --format mpy` (its MODEL bytes: in place, in flash if frozen).
        mode: None (automatic), "ram", "stream" (paths) or "inplace" (buffers).
        backend: None (ulab_ml.BACKEND: native module if importable, else pure Python),
        "native" or "python"."""
        return cls(source, mode, backend)

    def _choose_mode(self, path, size):
        with open(path, "rb") as f:
            hdr = f.read(_HEADER_SIZE)
        if len(hdr) < _HEADER_SIZE:
            return "ram"  # let the loader say what is wrong
        arena = struct.unpack_from("<I", hdr, 24)[0]
        free = _mem_free()
        if free is None or size + arena + _RAM_MARGIN <= _RAM_SHARE * free:
            return "ram"
        return "stream"

    def _load_ram(self, path, size):
        blob = _alloc(size, "weights (the whole file; mode='stream' keeps them in the file)")
        with open(path, "rb") as f:
            n = f.readinto(blob)
        if n != size:
            raise ValueError("could not read the whole model file")
        self._blob = blob
        return self._nat.load(blob, self._state)

    def _load_stream(self, path, size):
        nat = self._nat
        f = open(path, "rb")
        try:
            hdr = bytearray(_HEADER_SIZE)
            if f.readinto(hdr) != _HEADER_SIZE or hdr[:4] != b"ULML":
                nat.load(hdr, self._state)  # raises the loader's message
            blob_size, _ = struct.unpack_from("<II", hdr, 8)
            const_off = struct.unpack_from("<I", hdr, 52)[0]
            if blob_size > size:
                raise ValueError("model is truncated (file shorter than its header says)")
            if not _HEADER_SIZE <= const_off <= blob_size:
                raise ValueError("corrupt model: section outside the file")
            # The weights buffer is the largest block: allocate it first, while the heap is
            # least fragmented. Its size (the largest op constant span) is read from the op
            # table with small reads; the loader checks the table itself afterwards.
            n_ops = struct.unpack_from("<H", hdr, 30)[0]
            ops_off = struct.unpack_from("<I", hdr, 40)[0]
            rec = bytearray(4)
            span_max = 256
            for i in range(n_ops):
                f.seek(ops_off + 32 * i + 20)
                if f.readinto(rec) == 4:
                    span_max = max(span_max, min(struct.unpack_from("<I", rec, 0)[0], blob_size))
            span_buf = _alloc(span_max, "weights stream buffer")
            # The arena next, beside it, before the small allocations below can split the
            # free space (a corrupt size is left to the loader to report: allocated later).
            try:
                self._arena = bytearray(max(struct.unpack_from("<I", hdr, 24)[0], 16))
            except MemoryError:
                pass
            mv = memoryview(span_buf)
            head = _alloc(const_off, "model tables")
            f.seek(0)
            f.readinto(head)
            info, spans = nat.load_head(head, self._state, size)
            if info[1] > len(span_buf):
                raise ValueError("corrupt model: bad op table")
            # CRC of [0, 12) and [16, blob_size), read in pieces into the buffer.
            crc = nat.crc32(head[:12], 0)
            pos = 16
            f.seek(16)
            step = len(span_buf)
            while pos < blob_size:
                n = f.readinto(mv if blob_size - pos >= step else mv[:blob_size - pos])
                if not n:
                    raise ValueError("model is truncated (file shorter than its header says)")
                crc = nat.crc32(mv[:n] if n < step else span_buf, crc)
                pos += n
            nat.check_crc(self._state, crc)
            total = 0
            for i in range(len(spans)):
                off, n = spans[i]
                if n:
                    f.seek(off)
                    if f.readinto(mv[:n]) != n:
                        raise ValueError("model is truncated (file shorter than its header says)")
                nat.validate_op(self._state, i, span_buf)
                total += n
        except BaseException:
            f.close()
            raise
        self._blob = head
        self._file = f
        self._span = span_buf
        self.stream_buffer_bytes = len(span_buf)
        self.stream_bytes_per_infer = total
        return info

    @property
    def input_dtype(self):
        return "float32" if self._in_dtype == _DTYPE_FLOAT32 else "int8"

    @property
    def output_dtype(self):
        return "float32" if self._out_dtype == _DTYPE_FLOAT32 else "int8"

    def infer(self, buf, out=None):
        """Run the model on buf (int8: bytes/bytearray/memoryview/array('b'); float32
        models: array('f')). Returns out, or the model's own output buffer (reused by the
        next call). Allocates nothing: one call into the backend with a frame small enough
        for MicroPython to keep on the C stack (streamed weights are read in C too)."""
        if self._ctx is None:
            raise ValueError("model is closed")
        if out is None:
            out = self._out
        self._nat.run(self._ctx, buf, out)
        return out

    def close(self):
        """Free the model's memory (and close its file); infer() raises afterwards."""
        self._ctx = None
        if self._file is not None:
            self._file.close()
            self._file = None
        self._state = None
        self._arena = None
        self._blob = None
        self._span = None

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
    """Float values -> int8 array('b'): clamp(round(v / scale) + zero_point)."""
    n = len(values)
    if out is None:
        out = array("b", bytes(n))
    for i in range(n):
        q = _round(values[i] / scale) + zero_point
        out[i] = -128 if q < -128 else (127 if q > 127 else q)
    return out


def dequantize(buf, scale, zero_point, out=None):
    """int8 values -> array('f'): (q - zero_point) * scale."""
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
