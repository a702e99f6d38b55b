# ulab_ml pure-Python backend: the same interface as the native module ulab_ml_<arch>
# (natmod/ulab_ml_native.c), for ports that cannot load native modules (CircuitPython).
# See docs/PURE_PYTHON.md.
#
# Validation follows natmod/engine/loader.c and every uml_validate_<op> check by check,
# with the same messages. Evaluation uses exactly the integer arithmetic of
# natmod/kernels/*.c (int32 wrap-around emulated where the C code relies on it). Per-op
# parameters are decoded once at load time; single-input element-wise ops (RELU, LOGISTIC,
# TANH, HARD_SWISH, int8 QUANTIZE) become 256-entry tables computed with the C formulas.
# Needs long integers (any port with MPZ or long-long ints).
import struct
from array import array

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

BACKEND = "python"
FORMAT_VERSION = 1

try:
    _LONG = (1 << 40) > 0  # products of int32 values: at least 64-bit integers needed
except OverflowError:
    raise ImportError("ulab_ml: the pure-Python backend needs a firmware with long integers")
try:
    _LONG = (1 << 62) * (1 << 62) > 0  # arbitrary precision: the big-integer convolutions
except OverflowError:
    _LONG = False

_unpack = struct.unpack_from
_pack = struct.pack_into

# Tensor tuple fields.
_DT = const(0)
_RANK = const(1)
_ST = const(2)
_DIMS = const(3)
_OFF = const(4)
_NB = const(5)
_ZP = const(6)
_SCALE = const(7)
_EL = const(8)

_INT8 = const(1)
_INT32 = const(4)
_FLOAT32 = const(5)
_ESIZE = (0, 1, 1, 2, 4, 4)

# int8 value of a byte. Tables are arrays: compact, and as fast to index as tuples. (An array
# made from a bytes object copies its bytes: array("h", bytes(2 * n)) is n zeros.)
_S8 = array("b", ((u ^ 128) - 128 for u in range(256)))

# ---------------------------------------------------------------- CRC-32


def _crc32_py(buf, crc):
    t = _CRC_T
    if not t:
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
            t.append(c)
    crc ^= 0xFFFFFFFF
    for b in memoryview(buf):
        crc = t[(crc ^ b) & 255] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_CRC_T = []
try:
    from binascii import crc32 as _bcrc
    if _bcrc(b"123456789") != 0xCBF43926:
        _bcrc = None
except ImportError:
    _bcrc = None


def crc32(buf, crc):
    """CRC-32 (IEEE, as zlib) of buf continuing from crc (0 to start)."""
    if _bcrc is not None:
        return _bcrc(buf, crc) & 0xFFFFFFFF
    return _crc32_py(buf, crc)


def _blob_crc(mv, size):
    return crc32(mv[16:size], crc32(mv[:12], 0))

# ---------------------------------------------------------------- fixed point
# natmod/engine/fixedpoint.h and natmod/kernels/fixedpoint_transcendental.h


def _wrap(v):
    if -0x80000000 <= v <= 0x7FFFFFFF:
        return v
    return ((v + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def _srdhm(a, b):
    if a == -0x80000000 and b == -0x80000000:
        return 0x7FFFFFFF
    ab = a * b
    if ab >= 0:
        return (ab + 0x40000000) >> 31
    return -((0x3FFFFFFF - ab) >> 31)


def _rdbpot(x, e):
    if e == 0:
        return x
    mask = (1 << e) - 1
    th = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > th else 0)


def _mbqm(x, m, s):
    if s > 0:
        return _srdhm((((x << s) + 0x80000000) & 0xFFFFFFFF) - 0x80000000, m)
    return _rdbpot(_srdhm(x, m), -s)


def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


def _sat_shl(x, e):
    th = (1 << (31 - e)) - 1
    if x > th:
        return 0x7FFFFFFF
    if x < -th:
        return -0x80000000
    return x << e


def _half_sum(a, b):
    s = a + b
    s += 1 if s >= 0 else -1
    return s // 2 if s >= 0 else -((-s) // 2)


def _clz(x):
    n = 0
    while not x & 0x80000000:
        x <<= 1
        n += 1
    return n


def _exp_quarter(a):
    e = 1895147668
    x = _wrap(a + (1 << 28))
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    poly = _rdbpot(_wrap(_srdhm(_wrap(_rdbpot(x4, 2) + x3), 715827883) + x2), 1)
    return _wrap(e + _srdhm(e, _wrap(x + poly)))


_EXP_STEPS = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
              (2, 39332535), (3, 720401), (4, 242))


def _exp_neg(a, ib):
    q = 1 << (31 - ib - 2)
    amq = (a & (q - 1)) - q
    r = _exp_quarter(_sat_shl(amq, ib))
    rem = _wrap(amq - a)
    for e, m in _EXP_STEPS:
        if ib > e and rem & (1 << (31 - ib + e)):
            r = _srdhm(r, m)
    if ib > 5 and a < -(1 << (36 - ib)):
        r = 0
    if a == 0:
        r = 0x7FFFFFFF
    return r


def _newton(hd):
    x = _wrap(1515870810 + _srdhm(hd, -1010580540))
    for _ in range(3):
        x = _wrap(x + _sat_shl(_srdhm(x, _wrap((1 << 29) - _srdhm(hd, x))), 2))
    return x


def _one_over_1px(a):
    return _sat_shl(_newton(_half_sum(a, 0x7FFFFFFF)), 1)


def _logistic(a, ib):
    if a == 0:
        return 1 << 30
    pos = _one_over_1px(_exp_neg(_wrap(-(a if a > 0 else _wrap(-a))), ib))
    return pos if a > 0 else _wrap(0x7FFFFFFF - pos)


def _tanh(a, ib):
    if a == 0:
        return 0
    t = _sat_shl(_wrap(_newton(_half_sum(_exp_neg(a if a < 0 else _wrap(-a), ib + 1), 0x7FFFFFFF))
                       - (1 << 29)), 2)
    return _wrap(-t) if a < 0 else t

# int16 helpers of HARD_SWISH (natmod/kernels/hard_swish.c)


def _w16(v):
    v &= 0xFFFF
    return v - 65536 if v >= 32768 else v


def _trunc_div(a, d):
    return a // d if a >= 0 else -((-a) // d)


def _srdhm16(a, b):
    if a == -32768 and b == -32768:
        return 32767
    ab = a * b
    return _w16(_trunc_div(ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14)), 1 << 15))


def _sdhm16(a, b):
    if a == -32768 and b == -32768:
        return 32767
    return _w16(_trunc_div(a * b, 1 << 15))


def _sat_shl16(v, n):
    return _clamp(v * (1 << (n if n < 16 else 16)), -32768, 32767)


def _rdbpot16(x, e):
    mask = -1 if e >= 16 else (1 << e) - 1
    th = (-1 if e >= 16 else mask >> 1) + (1 if x < 0 else 0)
    return _w16((x >> e) + (1 if (x & mask) > th else 0))

# ---------------------------------------------------------------- model state


class _State:
    def __init__(self):
        self.clear()

    def clear(self):
        self.blob = None      # the buffer loaded (whole blob, or the head of a streamed one)
        self.tensors = None   # tensor tuples, kept until every op is validated
        self.prog = None      # per op: (eval function, parameter tuple)
        self.n_ops = 0
        self.streamed = False
        self.crc_ok = False
        self.arena_size = 0
        self.max_span = 0
        self.inputs = ()
        self.outputs = ()
        self.spans = None     # streamed: per op (file offset, size) of its constants
        self.tabs = None      # offset tables shared by the ops of this model
        self.work = None      # one array("h") for gathered windows (max size over ops)

    def ready(self):
        return self.prog is not None and self.crc_ok and len(self.prog) == self.n_ops


def new_state():
    return _State()


def _span_ok(off, size, limit):
    return off <= limit and size <= limit - off


def _check_tensor(st, raw, const_size):
    (dt, rank, storage, layout, d0, d1, d2, d3, off, nb, zp, scale, reserved) = raw
    es = _ESIZE[dt] if dt < 6 else 0
    if not es:
        return "corrupt model: unknown tensor dtype"
    if rank > 4 or layout != 0 or reserved != 0:
        return "corrupt model: bad tensor rank or layout"
    dims = (d0, d1, d2, d3)
    el = 1
    for i in range(4):
        d = dims[i]
        if (d != 1) if i >= rank else (d < 1 or d > 0x7FFFFFFF // el):
            return "corrupt model: bad tensor dimensions"
        el *= d
    if el > 0x7FFFFFFF // es or nb != el * es:
        return "corrupt model: tensor size does not match its shape"
    if storage == 0:
        if off % 4 or not _span_ok(off, nb, st.arena_size):
            return "corrupt model: tensor outside the arena"
    elif storage == 1:
        if off % 4 or not _span_ok(off, nb, const_size):
            return "corrupt model: tensor outside the constant data"
    else:
        return "corrupt model: bad tensor storage"
    return (dt, rank, storage, dims, off, nb, zp, scale, el)


def _check_head(st, data, avail, file_size, crc):
    st.clear()
    if avail < 64:
        return "not a ulab_ml model: too short (truncated file?)"
    h = _unpack("<4sHHIIIIIHHHHIIIIIII", data, 0)
    (magic, vmaj, _, size, hcrc, hsize, flags, arena, n_t, n_ops, n_in, n_out,
     t_off, o_off, p_off, p_size, c_off, c_size, io_off) = h
    if magic != b"ULML":
        return "not a ulab_ml model (bad magic): convert .tflite files with 'ulab-ml convert'"
    if vmaj > 1:
        return "model format is newer than this ulab_ml supports: update ulab_ml on the board"
    if vmaj < 1:
        return "model format is older than this ulab_ml supports: convert the model again"
    if size > file_size:
        return "model is truncated (file shorter than its header says)"
    if size < 64 or hsize != 64:
        return "corrupt model: bad header size"
    if crc is not None and crc != hcrc:
        return "corrupt model: CRC mismatch (damaged or partly copied file)"
    if flags != 0:
        return "model uses format features this ulab_ml does not support: update ulab_ml"
    if n_in < 1 or n_in > 4 or n_out < 1 or n_out > 4:
        return "corrupt model: bad number of inputs or outputs"
    held = avail if avail < size else size
    if (not _span_ok(t_off, n_t * 40, held) or not _span_ok(o_off, n_ops * 32, held)
            or not _span_ok(p_off, p_size, held) or not _span_ok(c_off, c_size, size)
            or not _span_ok(io_off, 2 * (n_in + n_out), held)
            or (t_off | o_off | p_off | c_off | io_off) % 4
            or min(t_off, o_off, p_off, c_off, io_off) < 64):
        return "corrupt model: section outside the file"
    if arena > 0x7FFFFFFF:
        return "corrupt model: arena size out of range"
    st.arena_size = arena
    st.ops_off = o_off
    st.params_off = p_off
    st.params_size = p_size
    st.const_off = c_off
    st.const_size = c_size
    tensors = []
    for i in range(n_t):
        t = _check_tensor(st, _unpack("<BBBB4iIIiII", data, t_off + 40 * i), c_size)
        if isinstance(t, str):
            return t
        tensors.append(t)
    io = []
    for i in range(n_in + n_out):
        tid = _unpack("<H", data, io_off + 2 * i)[0]
        if tid >= n_t or tensors[tid][_ST] != 0:
            return "corrupt model: bad model input or output tensor"
        io.append(tensors[tid])
    span = 0
    for i in range(n_ops):
        cs = _unpack("<I", data, o_off + 32 * i + 20)[0]
        if cs > span:
            span = cs
    st.blob = data
    st.tensors = tensors
    st.inputs = tuple(io[:n_in])
    st.outputs = tuple(io[n_in:])
    st.n_ops = n_ops
    st.max_span = span
    st.prog = []
    st.tabs = {}
    st.work = array("h")
    return None


def _tinfo(t):
    return (t[_DT], t[_DIMS][:t[_RANK]], t[_NB], t[_ZP], t[_SCALE])


def _info(st):
    return (st.arena_size, st.max_span, tuple(_tinfo(t) for t in st.inputs),
            tuple(_tinfo(t) for t in st.outputs))


class _Node:
    pass


def _check_op(st, i, src, base):
    """Op i's header checks (loader.c check_op); returns a _Node or an error message.
    src: buffer holding the op's constant span at position base."""
    data = st.blob
    (code, n_in, flags, res, out, res2, p_off, p_size, c_off, c_size, s_off,
     s_size) = _unpack("<BBBBHHIIIIII", data, st.ops_off + 32 * i)
    if code == 0 or code >= len(_OPS):
        return "model uses an operator this ulab_ml does not know (converted by a newer version?)"
    if n_in > 16 or flags or res or res2:
        return "corrupt model: bad op header"
    ids = (n_in * 2 + 3) & ~3
    if p_off % 4 or p_size % 4 or p_size < ids or not _span_ok(p_off, p_size, st.params_size):
        return "corrupt model: op parameters outside their section"
    if not _span_ok(c_off, c_size, st.const_size):
        return "corrupt model: op constant span outside the constant data"
    if s_off % 4 or not _span_ok(s_off, s_size, st.arena_size):
        return "corrupt model: op scratch outside the arena"
    tensors = st.tensors
    if out >= len(tensors) or tensors[out][_ST] != 0:
        return "corrupt model: bad op output"
    p = st.params_off + p_off
    n = _Node()
    n.code = code
    n.n_in = n_in
    n.tin = []
    n.ioff = []
    for k in range(n_in):
        tid = _unpack("<H", data, p + 2 * k)[0]
        t = None
        off = 0
        if tid != 0xFFFF:
            if tid >= len(tensors):
                return "corrupt model: op input is not a tensor"
            t = tensors[tid]
            off = t[_OFF]
            if t[_ST] == 1:
                if off < c_off or not _span_ok(off - c_off, t[_NB], c_size):
                    return "corrupt model: op constant input outside its span"
                off = base + off - c_off
        n.tin.append(t)
        n.ioff.append(off)
    n.out = tensors[out]
    n.n_params = (p_size - ids) // 4
    np_ = n.n_params if n.n_params < 16 else 16
    n.params = _unpack("<%di" % np_, data, p + ids) if np_ else ()
    n.src = src
    n.st = st
    return n


def _validate_op(st, i, src, base):
    if i != len(st.prog) or i >= st.n_ops:
        return "ops must be validated once each, in order"
    n = _check_op(st, i, src, base)
    if isinstance(n, str):
        return n
    r = _OPS[n.code](n)
    if isinstance(r, str):
        return r
    st.prog.append(r)
    if len(st.prog) == st.n_ops:
        st.tensors = None  # not needed any more
    return None


def load(blob, st):
    """Validate blob (whole model) and fill st; returns (arena_size, max_const_span,
    inputs, outputs) as the native module does."""
    n = len(blob)
    crc = 0
    mv = memoryview(blob)
    if n >= 64:
        size = _unpack("<I", blob, 8)[0]
        if 16 <= size <= n:
            crc = _blob_crc(mv, size)
    err = _check_head(st, blob, n, n, crc)
    if err is None:
        st.crc_ok = True
        c_off = st.const_off
        o_off = st.ops_off
        for i in range(st.n_ops):
            err = _validate_op(st, i, mv, c_off + _unpack("<I", blob, o_off + 32 * i + 16)[0])
            if err:
                break
    if err:
        st.clear()
        raise ValueError(err)
    return _info(st)


def load_head(head, st, file_size):
    """Streamed model: validate the head (all but the CRC, see check_crc); returns (info,
    spans) with spans per op (offset in the file, size) of its constants."""
    if file_size < 0:
        err = "bad file size"
    else:
        err = _check_head(st, head, len(head), file_size if file_size < 0xFFFFFFFF else 0xFFFFFFFF,
                          None)
    if err is None and st.const_off > len(head):
        err = "streamed model: the head must hold everything before the constant section"
    if err:
        st.clear()
        raise ValueError(err)
    st.streamed = True
    spans = []
    for i in range(st.n_ops):
        c_off, c_size = _unpack("<II", head, st.ops_off + 32 * i + 16)
        spans.append(((st.const_off + c_off) & 0xFFFFFFFF, c_size))  # uint32, as the C sum
    st.spans = spans
    return _info(st), spans


def check_crc(st, crc):
    """Streamed model: the blob's CRC computed by the caller over the file."""
    if st.blob is None or crc != _unpack("<I", st.blob, 12)[0]:
        st.clear()
        raise ValueError("corrupt model: CRC mismatch (damaged or partly copied file)")
    st.crc_ok = True


def validate_op(st, i, span):
    err = None
    if (not st.streamed or st.prog is None or i < 0 or i >= st.n_ops
            or len(span) < _unpack("<I", st.blob, st.ops_off + 32 * i + 20)[0]):
        err = "bad streamed op"
    else:
        err = _validate_op(st, i, memoryview(span), 0)
    if err:
        st.clear()
        raise ValueError(err)

# ---------------------------------------------------------------- I/O buffers


def _buf_kind(buf):
    """(element kind, byte length): kind 1 for 1-byte items, "f" for array('f') (or a
    memoryview of 4-byte items), None otherwise."""
    ty = type(buf)
    if ty is bytes or ty is bytearray:
        return 1, len(buf)
    n = len(memoryview(buf))  # TypeError for non-buffers, as the native module
    if ty is array:
        tc = repr(buf[:0])[7]
        if tc in "bB":
            return 1, n
        return ("f", 4 * n) if tc == "f" else (None, n)
    size = n
    for s in (8, 4, 2):
        if n:
            try:
                _unpack("B", buf, s * n - 1)
                size = s * n
                break
            except ValueError:
                pass
    k = size // n if n else 1
    return (1 if k == 1 else ("f" if k == 4 else None)), size


def _check_io(buf, t, is_output):
    kind, size = _buf_kind(buf)
    if is_output and type(buf) is bytes:
        kind = None
    flt = t[_DT] == _FLOAT32
    if kind != ("f" if flt else 1):
        if is_output:
            raise TypeError("out must be array('f') for this model" if flt else
                            "out must be bytearray, memoryview or array('b') for this model")
        raise TypeError("input must be array('f') for this float-input model" if flt else
                        "input must be bytes, bytearray, memoryview or array('b') of int8")
    if size != t[_NB]:
        if is_output:
            raise ValueError("out buffer has the wrong size for this model's output")
        raise ValueError("input buffer has the wrong size for this model's input")


def _copy_in(st, am, buf):
    t = st.inputs[0]
    _check_io(buf, t, False)
    o = t[_OFF]
    if t[_DT] == _FLOAT32:
        for i in range(0, t[_NB], 4):
            _pack("<I", am, o + i, _unpack("<I", buf, i)[0])
    else:
        am[o:o + t[_NB]] = buf


def _copy_out(st, am, out):
    t = st.outputs[0]
    o = t[_OFF]
    if t[_DT] == _FLOAT32:
        for i in range(0, t[_NB], 4):
            _pack("<I", out, i, _unpack("<I", am, o + i)[0])
    else:
        memoryview(out)[0:t[_NB]] = am[o:o + t[_NB]]


def _ready(st, blob, arena, streamed):
    if st is None or not st.ready() or st.blob is not blob or st.streamed != streamed:
        raise ValueError("model is closed or its buffer changed")
    if len(arena) < st.arena_size:
        raise ValueError("arena buffer too small or misaligned")


def invoke(st, blob, arena, inp, out):
    """Copy inp into the arena, run every op, copy the output into out."""
    _ready(st, blob, arena, False)
    _check_io(out, st.outputs[0], True)
    am = memoryview(arena)
    _copy_in(st, am, inp)
    c = memoryview(blob)
    for fn, p in st.prog:
        fn(arena, c, p)
    _copy_out(st, am, out)


def run(ctx, inp, out):
    """One inference. ctx: (state, blob, arena) for a model whose weights are in memory, or
    (state, head, arena, span, file) for a streamed one, its weights read op by op from the
    file into span."""
    if len(ctx) == 3:
        invoke(ctx[0], ctx[1], ctx[2], inp, out)
        return
    if len(ctx) != 5:
        raise ValueError("bad model context")
    st, head, arena, span, f = ctx
    _ready(st, head, arena, True)
    _check_io(out, st.outputs[0], True)
    if len(span) < st.max_span:
        raise ValueError("bad streaming buffer")
    am = memoryview(arena)
    _copy_in(st, am, inp)
    sm = memoryview(span)
    for i in range(st.n_ops):
        off, n = st.spans[i]
        if n:
            f.seek(off)
            got = 0
            while got < n:
                k = f.readinto(sm[got:n])
                if not k:
                    raise ValueError("model file is shorter than it was at load (changed or truncated)")
                got += k
        fn, p = st.prog[i]
        fn(arena, sm, p)
    _copy_out(st, am, out)


def run_op(st, blob, arena, i, inp, out):
    """Run op i of a whole-blob model alone (input copied in before op 0, output out after
    the last op, when given)."""
    _ready(st, blob, arena, False)
    if i < 0 or i >= st.n_ops:
        raise ValueError("op index out of range")
    am = memoryview(arena)
    if i == 0 and inp is not None:
        _copy_in(st, am, inp)
    fn, p = st.prog[i]
    fn(arena, memoryview(blob), p)
    if i == st.n_ops - 1 and out is not None:
        _check_io(out, st.outputs[0], True)
        _copy_out(st, am, out)


def stream_op(st, head, arena, i, span, inp, out):
    """Run op i of a streamed model with its constants in span."""
    _ready(st, head, arena, True)
    if i < 0 or i >= st.n_ops or len(span) < _unpack("<I", head, st.ops_off + 32 * i + 20)[0]:
        raise ValueError("bad streamed op")
    am = memoryview(arena)
    if i == 0 and inp is not None:
        _copy_in(st, am, inp)
    fn, p = st.prog[i]
    fn(arena, memoryview(span), p)
    if i == st.n_ops - 1 and out is not None:
        _check_io(out, st.outputs[0], True)
        _copy_out(st, am, out)

# ---------------------------------------------------------------- kernel helpers


def _is(t, dt):
    return t is not None and t[_DT] == dt


def _is_const(t, dt):
    return t is not None and t[_DT] == dt and t[_ST] == 1


def _off_ok(v):
    return -128 <= v <= 128


def _act_ok(lo, hi, dmin, dmax):
    return dmin <= lo <= hi <= dmax


def _same8(a, b):
    return _is(a, _INT8) and _is(b, _INT8) and a[_EL] == b[_EL]


def _offtab(n, off):
    """Table: byte -> int8 value + off (shared by the ops of a model)."""
    tabs = n.st.tabs
    t = tabs.get(off)
    if t is None:
        t = array("h", (v + off for v in _S8))
        tabs[off] = t
    return t


def _work(n, size):
    w = n.st.work
    if len(w) < size:
        w.extend(array("h", bytes(2 * (size - len(w)))))
    return w


def _ints(n, k):
    t = n.tin[k]
    return _unpack("<%di" % t[_EL], n.src, n.ioff[k])


def _requant(n, mi, si, ch):
    """uml_check_requant; returns (mult, shift) expanded to ch entries, or a message."""
    mt = n.tin[mi]
    sht = n.tin[si]
    if not (_is_const(mt, _INT32) and _is_const(sht, _INT32)):
        return "corrupt model: missing requantization parameters"
    cnt = mt[_EL]
    if cnt != sht[_EL] or (cnt != 1 and cnt != ch):
        return "corrupt model: requantization parameter count"
    mult = _ints(n, mi)
    shift = _ints(n, si)
    for i in range(cnt):
        if not (-31 <= shift[i] <= 30 and mult[i] >= 0):
            return "corrupt model: requantization shift out of range"
    if cnt == 1 and ch > 1:
        mult = mult * ch
        shift = shift * ch
    return array("i", mult), array("b", shift)


def _bias(n, ch):
    """(ok, bias tuple of ch entries; zeros when absent)."""
    t = n.tin[2]
    if t is None:
        return True, array("i", bytes(4 * ch))
    if not (_is_const(t, _INT32) and t[_EL] == ch):
        return False, None
    return True, array("i", _ints(n, 2))


def _src(n, k):
    """(input k is const, its offset in the const buffer or the arena)."""
    return n.tin[k][_ST] == 1, n.ioff[k]


def _fast_stage(bias, rq, bound):
    """Per output channel, 1 where the output stage of an accumulator of magnitude <= bound
    cannot wrap around int32 (shift <= 0, |acc + bias| + 129 < 2^31): there _out_stage reduces
    to y = round_half_away(round_half_away((acc + bias) * mult / 2^31) / 2^-shift) + out_offset,
    which the kernels inline."""
    shift = rq[1]
    return bytes((1 if shift[oc] <= 0 and bound + abs(bias[oc]) + 129 < 0x80000000 else 0)
                 for oc in range(len(bias)))


def _out_stage(acc, b, m, s, out_off, lo, hi):
    """uml_out_stage_apply: bias, requantization, output offset (all with int32
    wrap-around) and clamp; returns the output byte."""
    acc += b
    if acc > 0x7FFFFFFF or acc < -0x80000000:
        acc = _wrap(acc)
    if s > 0:
        acc = (((acc << s) + 0x80000000) & 0xFFFFFFFF) - 0x80000000
    if acc == -0x80000000 and m == -0x80000000:
        acc = 0x7FFFFFFF
    else:
        ab = acc * m
        acc = (ab + 0x40000000) >> 31 if ab >= 0 else -((0x3FFFFFFF - ab) >> 31)
    if s < 0:
        mask = (1 << -s) - 1
        th = (mask >> 1) + (1 if acc < 0 else 0)
        acc = (acc >> -s) + (1 if (acc & mask) > th else 0)
    acc += out_off
    if acc > 0x7FFFFFFF or acc < -0x80000000:
        acc = _wrap(acc)
    return (lo if acc < lo else (hi if acc > hi else acc)) & 255

# ---------------------------------------------------------------- kernels
# Each _op_<name>(node) validates like uml_validate_<name> and returns an error message or
# (eval function, parameter tuple); eval functions take (arena, const buffer, parameters).


def _eval_fc(a, c, p):
    (xc, xo, wo, oo, depth, out_depth, batches, X, S8, bias, mult, shift, out_off, lo, hi,
     work, exact) = p
    src = c if xc else a
    stage = _out_stage
    o = oo
    for b in range(batches):
        wb = wo
        for oc in range(out_depth):
            if exact or oc == 0:  # exact: the output overlaps the input, read it as C does
                j = xo + b * depth
                for d in range(depth):
                    work[d] = X[src[j]]
                    j += 1
            acc = 0
            d = 0
            for u in c[wb:wb + depth]:
                acc += S8[u] * work[d]
                d += 1
            wb += depth
            a[o] = stage(acc, bias[oc], mult[oc], shift[oc], out_off, lo, hi)
            o += 1


def _op_fully_connected(n):
    if n.n_in != 5 or n.n_params != 5:
        return "corrupt model: FULLY_CONNECTED arguments"
    x, f, out = n.tin[0], n.tin[1], n.out
    if not (_is(x, _INT8) and _is(out, _INT8) and _is_const(f, _INT8) and f[_RANK] == 2):
        return "corrupt model: FULLY_CONNECTED tensor types"
    out_depth, depth = f[_DIMS][0], f[_DIMS][1]
    if depth > 32767:
        return "FULLY_CONNECTED input depth too large"
    if x[_EL] % depth:
        return "corrupt model: FULLY_CONNECTED input shape"
    batches = x[_EL] // depth
    if out[_EL] != batches * out_depth:
        return "corrupt model: FULLY_CONNECTED output shape"
    ok, bias = _bias(n, out_depth)
    if not ok:
        return "corrupt model: FULLY_CONNECTED bias"
    rq = _requant(n, 3, 4, out_depth)
    if isinstance(rq, str):
        return rq
    in_off, f_off, out_off, lo, hi = n.params
    if not (_off_ok(in_off) and _off_ok(f_off) and _off_ok(out_off) and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: FULLY_CONNECTED parameters"
    xc, xo = _src(n, 0)
    return _eval_fc, (xc, xo, n.ioff[1], out[_OFF], depth, out_depth, batches,
                      _offtab(n, in_off), _offtab(n, f_off), bias, rq[0], rq[1], out_off, lo, hi,
                      _work(n, depth), not xc and _overlap(xo, x[_NB], out[_OFF], out[_NB]))


def _overlap(a0, an, b0, bn):
    return a0 < b0 + bn and b0 < a0 + an


def _conv_rows_ok(xo, oo, xd, od, ys, dh):
    """The planner's rule for CONV_2D / DEPTHWISE_CONV_2D outputs overlapping their input
    (natmod/engine/ops.h): output rows written so far never reach an input row still to be
    read. Then reading the input earlier than the C kernel does (a whole window, or the whole
    input) gives the same result; otherwise (only a corrupt model) _eval_conv runs exact."""
    batches, in_h, in_w, in_ch = xd
    irow = in_w * in_ch
    orow = od[2] * od[3]
    if not _overlap(xo, batches * in_h * irow, oo, batches * od[1] * orow):
        return True
    if oo > xo:
        return False
    first = None  # first input byte read from this output row on
    for r in range(batches * od[1] - 1, -1, -1):
        b, oy = divmod(r, od[1])
        y0, lo, hi, _ = ys[oy]
        if lo < hi:  # output row oy reads input rows from y0 + dh * lo
            start = xo + (b * in_h + y0 + dh * lo) * irow
            first = start if first is None or start < first else first
        if first is not None and oo + (r + 1) * orow > first:
            return False
    return True


def _windows(axes):
    """Per output row and column: (origin, first and past-last filter tap inside the input,
    all taps inside)."""
    out = []
    for i in (0, 6):
        n, stride, pad, dil, k, size = axes[i:i + 6]
        w = []
        for o in range(n):
            origin = o * stride - pad
            lo, hi = _taps(origin, dil, k, size)
            w.append((origin, lo, hi, lo == 0 and hi == k))
        out.append(w)
    return out


def _taps(origin, dil, k, size):
    """uml_conv_inside_taps: the taps [lo, hi) of k whose origin + dil * tap is in [0, size)."""
    lo = min(k, -(origin // dil)) if origin < 0 else 0
    return lo, max(lo, min(k, -((origin - size) // dil)))


def _axis_ok(out, k, stride, dil, pad):
    if stride < 1 or dil < 1 or pad < 0:
        return False
    lim = 1 << 30
    return (out - 1) * stride < lim and pad < lim and (k - 1) * dil < lim


def _gather(src, a_row, work, ys_entry, x_entry, in_w, in_ch, k_w, dh, dw, X, L):
    """Window of one output pixel into work[0:L] (layout [fy][fx][c], offsets applied),
    zeros for taps outside the input."""
    y0, fy_lo, fy_hi, yfull = ys_entry
    x0, fx_lo, fx_hi, xfull = x_entry
    if not (yfull and xfull):
        for j in range(L):
            work[j] = 0
    row_len = in_w * in_ch
    kwc = k_w * in_ch
    for fy in range(fy_lo, fy_hi):
        r = a_row + (y0 + dh * fy) * row_len
        j = fy * kwc + fx_lo * in_ch
        if dw == 1:
            s0 = r + (x0 + fx_lo) * in_ch
            for s in range(s0, s0 + (fx_hi - fx_lo) * in_ch):
                work[j] = X[src[s]]
                j += 1
        else:
            for fx in range(fx_lo, fx_hi):
                s0 = r + (x0 + dw * fx) * in_ch
                for s in range(s0, s0 + in_ch):
                    work[j] = X[src[s]]
                    j += 1


def _eval_conv(a, c, p, x=None):
    """Per output pixel: its window gathered (offsets applied) into work, then one dot
    product per output channel. exact: the output overlaps the input against the planner's
    rules (a corrupt model), so the window is read again for every output channel, as the C
    kernel reads it. x: a copy of the whole input (read from offset 0) instead of its bytes."""
    (xc, xo, wo, oo, batches, in_h, in_w, in_ch, out_ch, k_w, dh, dw, axes, X, S8, bias, mult,
     shift, out_off, lo, hi, work, L, dm, exact) = p
    ys, xs = _windows(axes)
    src = c if xc else a
    if x is not None:
        src = x
        xo = 0
    stage = _out_stage
    gather = _gather
    o = oo
    for b in range(batches):
        a_row = xo + b * in_h * in_w * in_ch
        for ye in ys:
            for xe in xs:
                gather(src, a_row, work, ye, xe, in_w, in_ch, k_w, dh, dw, X, L)
                if dm == 0:  # CONV_2D: filter [out_ch, k_h, k_w, in_ch]
                    wb = wo
                    for oc in range(out_ch):
                        if exact and oc:
                            gather(src, a_row, work, ye, xe, in_w, in_ch, k_w, dh, dw, X, L)
                        acc = 0
                        j = 0
                        for u in c[wb:wb + L]:
                            acc += S8[u] * work[j]
                            j += 1
                        wb += L
                        a[o] = stage(acc, bias[oc], mult[oc], shift[oc], out_off, lo, hi)
                        o += 1
                else:  # DEPTHWISE_CONV_2D: filter [1, k_h, k_w, out_ch], oc reads oc // dm
                    for oc in range(out_ch):
                        if exact and oc:
                            gather(src, a_row, work, ye, xe, in_w, in_ch, k_w, dh, dw, X, L)
                        acc = 0
                        k = oc // dm
                        for j in range(wo + oc, wo + oc + L * dm, out_ch):
                            acc += S8[c[j]] * work[k]
                            k += in_ch
                        a[o] = stage(acc, bias[oc], mult[oc], shift[oc], out_off, lo, hi)
                        o += 1


def _op_conv(n, dw):
    name = "DEPTHWISE_CONV_2D" if dw else "CONV_2D"
    if n.n_in != 5 or n.n_params != 10:
        return "corrupt model: %s arguments" % name
    x, f, out = n.tin[0], n.tin[1], n.out
    if not (_is(x, _INT8) and x[_RANK] == 4 and _is(out, _INT8) and out[_RANK] == 4
            and _is_const(f, _INT8) and f[_RANK] == 4):
        return "corrupt model: %s tensor types" % name
    xd, fd, od = x[_DIMS], f[_DIMS], out[_DIMS]
    in_ch = xd[3]
    k_h, k_w = fd[1], fd[2]
    if dw:
        out_ch = fd[3]
        if fd[0] != 1 or od[0] != xd[0] or od[3] != out_ch or out_ch % in_ch:
            return "corrupt model: DEPTHWISE_CONV_2D shapes"
        if k_h * k_w > 65535:
            return "DEPTHWISE_CONV_2D filter too large"
    else:
        out_ch = fd[0]
        if xd[3] != fd[3] or od[0] != xd[0] or od[3] != out_ch:
            return "corrupt model: CONV_2D shapes"
        if k_h * k_w * in_ch > 65535:
            return "CONV_2D filter too large"
    ok, bias = _bias(n, out_ch)
    if not ok:
        return "corrupt model: %s bias" % name
    rq = _requant(n, 3, 4, out_ch)
    if isinstance(rq, str):
        return rq
    in_off, out_off, sh, sw, dh, dwl, ph, pw, lo, hi = n.params
    if not (_axis_ok(od[1], k_h, sh, dh, ph) and _axis_ok(od[2], k_w, sw, dwl, pw)):
        return "corrupt model: %s strides, dilations or paddings" % name
    if not (_off_ok(in_off) and _off_ok(out_off) and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: %s parameters" % name
    L = k_h * k_w * in_ch
    xc, xo = _src(n, 0)
    axes = (od[1], sh, ph, dh, k_h, xd[1], od[2], sw, pw, dwl, k_w, xd[2])
    exact = not xc and not _conv_rows_ok(xo, out[_OFF], xd, od, _windows(axes)[0], dh)
    loop = (xc, xo, n.ioff[1], out[_OFF], xd[0], xd[1], xd[2], in_ch, out_ch, k_w, dh, dwl, axes,
            _offtab(n, in_off), _S8, bias, rq[0], rq[1], out_off, lo, hi, _work(n, L), L,
            out_ch // in_ch if dw else 0, exact)
    planes = None if exact else _planes_p(n, xd, od, out_ch, k_h, k_w, sh, sw, dh, dwl, ph, pw, in_off,
                                          bias, rq, lo, hi, out_ch // in_ch if dw else 0)
    if planes is not None:
        return _eval_conv_big, (planes, loop)
    return _eval_conv, loop


# Whole-plane evaluation of CONV_2D / DEPTHWISE_CONV_2D with Python's long integers, the
# multiply-adds done by the big-integer arithmetic in C. The input plane of one channel, zero
# padded, is split by stride phase ((y mod stride_h, x mod stride_w) of the padded pixel) into
# planes of hq x wq pixels, each packed into a big integer V with 32 bits per pixel holding
# x + input_offset. A filter tap reads one phase plane shifted by a whole number of pixels
# (off), so the output channel's accumulator sum(w * (V << 32 * (m - off))) over the taps holds
# each output pixel's exact sum in its own 32-bit slot (|sum| < 2^31 by validation; adding 2^31
# to every slot makes them independent). For a phase with several taps that sum is one product
# V * G, G holding the taps' weights in their slots. Python runs a few operations per output
# channel, input channel and phase instead of one per multiply-add.
BIGINT = _LONG  # False: always the per-pixel loop (the tests run both)


def _planes_p(n, xd, od, out_ch, k_h, k_w, sh, sw, dh, dw, ph, pw, in_off, bias, rq, lo, hi, dm):
    batches, in_h, in_w, in_ch = xd
    out_h, out_w = od[1], od[2]
    pixels = out_h * out_w
    if not BIGINT or pixels < 4 or k_h * k_w > 1024:
        return None
    hq = out_h + (k_h - 1) * dh // sh
    wq = out_w + (k_w - 1) * dw // sw
    phases = []
    ptaps = []  # per phase: (tap index, pixel offset) in tap order
    m = 0
    t = 0
    for fy in range(k_h):
        for fx in range(k_w):
            key = ((fy * dh) % sh, (fx * dw) % sw)
            if key not in phases:
                phases.append(key)
                ptaps.append([])
            off = (fy * dh // sh) * wq + fx * dw // sw
            m = max(m, off)
            ptaps[phases.index(key)].append((t, off))
            t += 1
    n_acc = hq * wq + m
    # worth it when a big-integer operation replaces enough multiply-adds: one tap (1x1
    # convolutions) costs two operations per weight, several taps about eight per phase
    if k_h * k_w > 1 and 8 * pixels < 64 + n_acc:
        return None
    wstep = out_ch if dm else in_ch  # filter bytes between consecutive taps
    pinfo = []
    for k in range(len(phases)):
        ry, rx = phases[k]
        # rows (byte offset in the pack buffer, input row) and the columns read per row: first
        # input column, count, unpack format (stride sw pixels) and pack format
        q0 = max(0, -((rx - pw) // sw))          # first qx with ix >= 0
        q1 = min(wq, -((rx - pw - in_w) // sw))  # past the last qx with ix < in_w
        rows = tuple((4 * (qy * wq + q0), qy * sh + ry - ph) for qy in range(hq)
                     if 0 <= qy * sh + ry - ph < in_h)
        cnt = q1 - q0
        if cnt <= 0 or not rows:
            continue  # only padding: its taps add nothing
        skip = sw * in_ch - 1
        ufmt = "<" + ("B%dx" % skip) * (cnt - 1) + "B" if skip else "<%dB" % cnt
        tl = ptaps[k]
        if len(tl) == 1:
            taps = (tl[0][0] * wstep, 32 * (m - tl[0][1]))
        else:
            # G: weights read with one unpack, packed big-endian so that slot m - off holds
            # the weight of the tap at offset off; gm: 128 in the taps' slots
            wf = "<B"
            pf = ">" + ("%dx" % (4 * tl[0][1]) if tl[0][1] else "") + "I"
            gm = 1 << (32 * (m - tl[0][1]))
            for i in range(1, len(tl)):
                wf += "%dxB" % ((tl[i][0] - tl[i - 1][0]) * wstep - 1)
                gap = tl[i][1] - tl[i - 1][1] - 1
                pf += ("%dxI" % (4 * gap)) if gap else "I"
                gm |= 1 << (32 * (m - tl[i][1]))
            if m > tl[-1][1]:
                pf += "%dx" % (4 * (m - tl[-1][1]))
            taps = (tl[0][0] * wstep, wf, pf, gm << 7)
        pinfo.append((rows, q0 * sw + rx - pw, cnt, ufmt, "<%dI" % cnt, taps))
    group = max(1, min(out_ch, 8192 // n_acc))  # accumulators of a group: <= 32 KB
    bound = (k_h * k_w * (1 if dm else in_ch)) << 15  # |accumulator| <= bound
    xc, xo = _src(n, 0)
    return (xc, xo, n.ioff[1], n.out[_OFF], batches, in_h * in_w * in_ch, in_w * in_ch, in_ch, out_h,
            out_w, out_ch, k_h * k_w, hq, wq, m, n_acc, tuple(pinfo), in_off, dm, group,
            _fast_stage(bias, rq, bound), bias, rq[0], rq[1], n.params[1], lo, hi)


_from_bytes = int.from_bytes


def _eval_conv_big(a, c, p):
    """The plane evaluation, or the per-pixel loop if the heap cannot hold the planes' big
    integers (MemoryError): both read a copy of the input, so outputs the planes wrote before
    failing do not matter."""
    planes, loop = p
    try:
        xo = loop[1]
        x = bytes(memoryview(c if loop[0] else a)[xo:xo + planes[4] * planes[5]])
    except MemoryError:
        _eval_conv(a, c, loop)
        return
    try:
        _eval_conv_planes(a, c, planes, x)
    except MemoryError:
        _eval_conv(a, c, loop, x)


def _eval_conv_planes(a, c, p, x):
    (xc, xo, wo, oo, batches, plane_sz, row_in, in_ch, out_h, out_w, out_ch, n_taps, hq, wq, m,
     n_acc, pinfo, in_off, dm, group, fasts, bias, mult, shift, out_off, lo, hi) = p
    S8 = _S8
    unpack = _unpack
    pack = _pack
    spack = struct.pack
    fb = _from_bytes
    nq = 4 * hq * wq
    n_ph = len(pinfo)
    # per phase: pack buffer (padding stays zero), and 128 / input_offset - 128 in its pixels
    bufs = []
    masks = []
    for pi in pinfo:
        buf = bytearray(nq)
        ones = (1,) * pi[2]
        for so, _ in pi[0]:
            pack(pi[4], buf, so, *ones)
        one = fb(buf, "little")
        bufs.append(buf)
        masks.append((one << 7, one * (in_off - 128)))
    one = None
    bias_all = ((1 << (32 * n_acc)) - 1) // 0xFFFFFFFF << 31  # 2^31 in every slot
    nbytes = 4 * n_acc
    half = 0x80000000
    dfmt = "<%dI" % out_w
    planes = [None] * n_ph
    # one phase with one tap (1x1 convolutions): weights read per group with one unpack
    single = n_ph == 1 and len(pinfo[0][5]) == 2
    for b in range(batches):
        xb = b * plane_sz  # x: a copy of the input, which the outputs may overwrite
        obase = oo + b * out_h * out_w * out_ch
        for g0 in (range(in_ch) if dm else range(0, out_ch, group)):
            if dm:  # DEPTHWISE: input channel g0 feeds output channels g0 * dm ...
                ocs = range(g0 * dm, g0 * dm + dm)
                chans = (g0,)
            else:
                ocs = range(g0, min(out_ch, g0 + group))
                chans = range(in_ch)
            accs = [0] * len(ocs)
            if single:
                cnt = len(ocs)
                step = 1 if dm else n_taps * in_ch
                gfmt = "<%db" % cnt if step == 1 else "<" + ("b%dx" % (step - 1)) * (cnt - 1) + "b"
            for ci in chans:
                for k in range(n_ph):
                    rows, ix0, cnt, ufmt, pfmt, taps = pinfo[k]
                    buf = bufs[k]
                    for so, iy in rows:
                        pack(pfmt, buf, so, *unpack(ufmt, x, xb + (iy * row_in // in_ch + ix0) * in_ch + ci))
                    mk = masks[k]
                    v = (fb(buf, "little") ^ mk[0]) + mk[1]
                    if len(taps) == 2 and taps[1]:
                        v <<= taps[1]
                    planes[k] = v
                v = None
                if single:  # 1x1: the group's weights for this channel with one unpack
                    ws = unpack(gfmt, c, wo + pinfo[0][5][0] + (g0 * dm if dm else g0 * n_taps * in_ch + ci))
                    v = planes[0]
                    j = 0
                    for w in ws:
                        if w:
                            accs[j] += w * v
                        j += 1
                    continue
                j = 0
                for oc in ocs:
                    wb = wo + (oc if dm else oc * n_taps * in_ch + ci)
                    acc = accs[j]
                    for k in range(n_ph):
                        taps = pinfo[k][5]
                        if len(taps) == 2:
                            w = S8[c[wb + taps[0]]]
                            if w:
                                acc += w * planes[k]
                        else:
                            g = fb(spack(taps[2], *unpack(taps[1], c, wb + taps[0])), "big")
                            acc += planes[k] * ((g ^ taps[3]) - taps[3])
                    accs[j] = acc
                    j += 1
                acc = None
            for k in range(n_ph):
                planes[k] = None
            j = 0
            for oc in ocs:
                raw = (accs[j] + bias_all).to_bytes(nbytes, "little")
                accs[j] = None
                j += 1
                mo = mult[oc]
                sh = shift[oc]
                rs = -sh if sh < 0 else 0
                rh = (1 << rs) >> 1
                fast = fasts[oc]
                bo = bias[oc] - half if fast else bias[oc]  # slots hold the sum + 2^31
                o = obase + oc
                for oy in range(out_h):
                    vals = unpack(dfmt, raw, 4 * (oy * wq + m))
                    if fast:  # no int32 wrap-around possible: the out stage in few steps
                        for v in vals:
                            v = (v + bo) * mo
                            if v >= 0:
                                v = ((((v + 0x40000000) >> 31) + rh) >> rs) + out_off
                            else:
                                v = out_off - ((((0x3FFFFFFF - v) >> 31) + rh) >> rs)
                            a[o] = (lo if v < lo else (hi if v > hi else v)) & 255
                            o += out_ch
                    else:
                        for v in vals:
                            a[o] = _out_stage(v - half, bo, mo, sh, out_off, lo, hi)
                            o += out_ch


def _op_conv_2d(n):
    return _op_conv(n, False)


def _op_depthwise_conv_2d(n):
    return _op_conv(n, True)


def _eval_pool(a, c, p):
    (xc, xo, oo, batches, in_h, in_w, depth, ys, xs, lo, hi, avg) = p
    src = c if xc else a
    S8 = _S8
    row_step = in_w * depth
    o = oo
    for b in range(batches):
        base = xo + b * in_h * row_step
        for y0, y1 in ys:
            for x0, x1 in xs:
                count = (y1 - y0) * (x1 - x0)
                for ch in range(depth):
                    if avg:
                        acc = 0
                        for y in range(y0, y1):
                            r = base + y * row_step + ch
                            for j in range(r + x0 * depth, r + x1 * depth, depth):
                                acc += S8[src[j]]
                        if acc > 0:
                            v = (acc + count // 2) // count
                        else:
                            v = -((count // 2 - acc) // count)
                    else:
                        v = -128
                        for y in range(y0, y1):
                            r = base + y * row_step + ch
                            for j in range(r + x0 * depth, r + x1 * depth, depth):
                                s = S8[src[j]]
                                if s > v:
                                    v = s
                    a[o] = (lo if v < lo else (hi if v > hi else v)) & 255
                    o += 1


def _pool_axis_ok(size, out, stride, filt, pad):
    if stride < 1 or filt < 1 or filt > 2048 or pad < 0 or pad >= filt:
        return False
    if size + filt > 0x7FFFFFFF:
        return False
    return (out - 1) * stride - pad < size


def _op_pool(n, avg):
    name = "AVERAGE_POOL_2D" if avg else "MAX_POOL_2D"
    if n.n_in != 1 or n.n_params != 8:
        return "corrupt model: %s arguments" % name
    x, out = n.tin[0], n.out
    if not (_is(x, _INT8) and _is(out, _INT8) and x[_RANK] == 4 and out[_RANK] == 4):
        return "corrupt model: %s tensor types" % name
    xd, od = x[_DIMS], out[_DIMS]
    if xd[0] != od[0] or xd[3] != od[3]:
        return "corrupt model: %s shapes" % name
    sh, sw, fh, fw, ph, pw, lo, hi = n.params
    if not (_pool_axis_ok(xd[1], od[1], sh, fh, ph) and _pool_axis_ok(xd[2], od[2], sw, fw, pw)
            and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: %s parameters" % name
    ys = tuple((max(oy * sh - ph, 0), min(oy * sh - ph + fh, xd[1])) for oy in range(od[1]))
    xs = tuple((max(ox * sw - pw, 0), min(ox * sw - pw + fw, xd[2])) for ox in range(od[2]))
    xc, xo = _src(n, 0)
    return _eval_pool, (xc, xo, out[_OFF], xd[0], xd[1], xd[2], xd[3], ys, xs, lo, hi, avg)


def _op_average_pool_2d(n):
    return _op_pool(n, True)


def _op_max_pool_2d(n):
    return _op_pool(n, False)


def _eval_mean(a, c, p):
    (xc, xo, oo, stride, outer, inner, zp_total, mult, shift, out_zp) = p
    src = c if xc else a
    S8 = _S8
    s0, s1, s2, s3 = stride
    o = oo
    for o0 in range(outer[0]):
        for o1 in range(outer[1]):
            for o2 in range(outer[2]):
                for o3 in range(outer[3]):
                    base = xo + o0 * s0 + o1 * s1 + o2 * s2 + o3 * s3
                    acc = 0
                    for i0 in range(inner[0]):
                        for i1 in range(inner[1]):
                            for i2 in range(inner[2]):
                                r = base + i0 * s0 + i1 * s1 + i2 * s2
                                for j in range(r, r + inner[3] * s3, s3):
                                    acc += S8[src[j]]
                    v = _wrap(_mbqm(_wrap(acc - zp_total), mult, shift) + out_zp)
                    a[o] = (-128 if v < -128 else (127 if v > 127 else v)) & 255
                    o += 1


def _op_mean(n):
    if n.n_in != 1 or n.n_params != 5:
        return "corrupt model: MEAN arguments"
    x, out = n.tin[0], n.out
    if not (_is(x, _INT8) and _is(out, _INT8)):
        return "corrupt model: MEAN tensor types"
    mask, in_zp, out_zp, mult, shift = n.params
    if mask < 0 or mask >> x[_RANK]:
        return "corrupt model: MEAN axes"
    kept = 1
    for k in range(x[_RANK]):
        if not mask & (1 << k):
            kept *= x[_DIMS][k]
    if out[_EL] != kept:
        return "corrupt model: MEAN output shape"
    if not (-128 <= in_zp <= 127 and -128 <= out_zp <= 127 and mult >= 0 and -31 <= shift <= 30):
        return "corrupt model: MEAN parameters"
    stride = [0] * 4
    outer = [0] * 4
    inner = [0] * 4
    s = 1
    count = 1
    for k in (3, 2, 1, 0):
        d = x[_DIMS][k]
        red = (mask >> k) & 1
        stride[k] = s
        s *= d
        outer[k] = 1 if red else d
        inner[k] = d if red else 1
        count *= inner[k]
    xc, xo = _src(n, 0)
    return _eval_mean, (xc, xo, out[_OFF], tuple(stride), tuple(outer), tuple(inner),
                        in_zp * count, mult, shift, out_zp)


def _ext(t):
    lead = 4 - t[_RANK]
    return tuple(1 if i < lead else t[_DIMS][i - lead] for i in range(4))


def _bstrides(d):
    s = [0] * 4
    acc = 1
    for i in (3, 2, 1, 0):
        s[i] = 0 if d[i] == 1 else acc
        acc *= d[i]
    return tuple(s)


def _bcast_ok(a, b, out):
    da, db, do = _ext(a), _ext(b), _ext(out)
    for i in range(4):
        if (da[i] != do[i] and da[i] != 1) or (db[i] != do[i] and db[i] != 1):
            return False
    return True


def _eval_binary(a, c, p):
    """ADD, SUB, MUL with broadcasting (broadcast.h loop order): y = mbqm(f, m, s) + out_off,
    f = T1[x1] + T2[x2] (ADD/SUB: the rescaled inputs, T2 negated for SUB) or T1[x1] * T2[x2]
    (MUL: the offset inputs). fast: no int32 wrap-around possible, mbqm in few steps."""
    (mul, ac, ao, bc, bo, oo, d, sa, sb, T1, T2, m, s, fast, ls, rh, rs, out_off, lo, hi) = p
    A = c if ac else a
    B = c if bc else a
    o = oo
    d0, d1, d2, d3 = d
    sa3 = sa[3]
    sb3 = sb[3]
    for i0 in range(d0):
        for i1 in range(d1):
            for i2 in range(d2):
                ra = ao + i0 * sa[0] + i1 * sa[1] + i2 * sa[2]
                rb = bo + i0 * sb[0] + i1 * sb[1] + i2 * sb[2]
                for _ in range(d3):
                    f = T1[A[ra]] * T2[B[rb]] if mul else T1[A[ra]] + T2[B[rb]]
                    if fast:
                        v = (f << ls) * m
                        if v >= 0:
                            v = ((((v + 0x40000000) >> 31) + rh) >> rs) + out_off
                        else:
                            v = out_off - ((((0x3FFFFFFF - v) >> 31) + rh) >> rs)
                    else:
                        v = _wrap(_mbqm(f, m, s) + out_off)
                    a[o] = (lo if v < lo else (hi if v > hi else v)) & 255
                    o += 1
                    ra += sa3
                    rb += sb3


def _binary_p(n, mul, T1, T2, m, s, out_off, lo, hi):
    x1, x2, out = n.tin[0], n.tin[1], n.out
    ac, ao = _src(n, 0)
    bc, bo = _src(n, 1)
    b1 = max(abs(v) for v in T1)
    b2 = max(abs(v) for v in T2)
    ls = s if s > 0 else 0
    rs = -s if s < 0 else 0
    fast = (((b1 * b2) if mul else (b1 + b2)) << ls) + 129 < 0x80000000
    return _eval_binary, (mul, ac, ao, bc, bo, out[_OFF], _ext(out), _bstrides(_ext(x1)),
                          _bstrides(_ext(x2)), T1, T2, m, s, fast, ls, (1 << rs) >> 1, rs, out_off,
                          lo, hi)


def _op_add_sub(n, sub):
    if n.n_in != 2 or n.n_params != 12:
        return "corrupt model: ADD/SUB arguments"
    x1, x2, out = n.tin[0], n.tin[1], n.out
    if not (_is(x1, _INT8) and _is(x2, _INT8) and _is(out, _INT8)):
        return "corrupt model: ADD/SUB tensor types"
    if not _bcast_ok(x1, x2, out):
        return "corrupt model: ADD/SUB shapes do not broadcast"
    (o1, o2, oo, ls, m1, s1, m2, s2, om, os, lo, hi) = n.params
    if not (_off_ok(o1) and _off_ok(o2) and _off_ok(oo) and 0 <= ls <= 20
            and m1 >= 0 and -31 <= s1 <= 0 and m2 >= 0 and -31 <= s2 <= 0
            and om >= 0 and -31 <= os <= 0 and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: ADD/SUB parameters"
    sign = -1 if sub else 1
    T1 = array("i", (_rdbpot(_srdhm((v + o1) * (1 << ls), m1), -s1) for v in _S8))
    T2 = array("i", (sign * _rdbpot(_srdhm((v + o2) * (1 << ls), m2), -s2) for v in _S8))
    return _binary_p(n, False, T1, T2, om, os, oo, lo, hi)


def _op_add(n):
    return _op_add_sub(n, False)


def _op_sub(n):
    return _op_add_sub(n, True)


def _op_mul(n):
    if n.n_in != 2 or n.n_params != 7:
        return "corrupt model: MUL arguments"
    x1, x2, out = n.tin[0], n.tin[1], n.out
    if not (_is(x1, _INT8) and _is(x2, _INT8) and _is(out, _INT8)):
        return "corrupt model: MUL tensor types"
    if not _bcast_ok(x1, x2, out):
        return "corrupt model: MUL shapes do not broadcast"
    o1, o2, oo, m, s, lo, hi = n.params
    if not (_off_ok(o1) and _off_ok(o2) and _off_ok(oo) and m >= 0 and -31 <= s <= 30
            and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: MUL parameters"
    return _binary_p(n, True, _offtab(n, o1), _offtab(n, o2), m, s, oo, lo, hi)


def _move(a, c, dst, src_const, src, n):
    """memmove n bytes into the arena at dst from the arena or the const buffer."""
    am = memoryview(a)
    if src_const:
        am[dst:dst + n] = c[src:src + n]
    elif src != dst:
        if src < dst + n and dst < src + n:
            am[dst:dst + n] = bytes(am[src:src + n])
        else:
            am[dst:dst + n] = am[src:src + n]


def _eval_concat(a, c, p):
    (oo, outer, parts) = p
    dst = oo
    for o in range(outer):
        for isc, off, chunk in parts:
            _move(a, c, dst, isc, off + o * chunk, chunk)
            dst += chunk


def _op_concatenation(n):
    if n.n_in < 1 or n.n_params != 1:
        return "corrupt model: CONCATENATION arguments"
    out = n.out
    axis = n.params[0]
    rank = out[_RANK]
    if axis < 0 or axis >= rank:
        return "corrupt model: CONCATENATION axis"
    total = 0
    for i in range(n.n_in):
        t = n.tin[i]
        if t is None or t[_DT] != out[_DT] or t[_RANK] != rank:
            return "corrupt model: CONCATENATION tensor types"
        for k in range(rank):
            if k != axis and t[_DIMS][k] != out[_DIMS][k]:
                return "corrupt model: CONCATENATION shapes"
        total += t[_DIMS][axis]
    if total != out[_DIMS][axis]:
        return "corrupt model: CONCATENATION shapes"
    outer = 1
    inner = _ESIZE[out[_DT]]
    for k in range(axis):
        outer *= out[_DIMS][k]
    for k in range(axis + 1, rank):
        inner *= out[_DIMS][k]
    parts = tuple(_src(n, i) + (n.tin[i][_DIMS][axis] * inner,) for i in range(n.n_in))
    return _eval_concat, (out[_OFF], outer, parts)


def _eval_pad(a, c, p):
    (xc, xo, oo, ind, outd, before, after, fill) = p
    am = memoryview(a)
    row = outd[3]
    b3, in3 = before[3], ind[3]
    o = oo
    for o0 in range(outd[0]):
        i0 = o0 - before[0]
        for o1 in range(outd[1]):
            i1 = o1 - before[1]
            for o2 in range(outd[2]):
                i2 = o2 - before[2]
                if i0 < 0 or i0 >= ind[0] or i1 < 0 or i1 >= ind[1] or i2 < 0 or i2 >= ind[2]:
                    am[o:o + row] = fill[:row]
                else:
                    s = xo + ((i0 * ind[1] + i1) * ind[2] + i2) * in3
                    am[o:o + b3] = fill[:b3]
                    _move(a, c, o + b3, xc, s, in3)
                    am[o + b3 + in3:o + row] = fill[:row - b3 - in3]
                o += row


def _op_pad(n):
    if n.n_in != 1 or n.n_params != 9:
        return "corrupt model: PAD arguments"
    x, out = n.tin[0], n.out
    if not (_is(x, _INT8) and _is(out, _INT8) and x[_RANK] == out[_RANK]):
        return "corrupt model: PAD tensor types"
    p = n.params
    if not -128 <= p[0] <= 127:
        return "corrupt model: PAD value"
    for k in range(4):
        if p[1 + k] < 0 or p[5 + k] < 0 or x[_DIMS][k] + p[1 + k] + p[5 + k] != out[_DIMS][k]:
            return "corrupt model: PAD paddings"
    xc, xo = _src(n, 0)
    fill = memoryview(bytes([p[0] & 255]) * out[_DIMS][3])
    return _eval_pad, (xc, xo, out[_OFF], x[_DIMS], out[_DIMS], p[1:5], p[5:9], fill)


def _eval_reshape(a, c, p):
    xc, xo, oo, nb = p
    if xc or xo != oo:
        _move(a, c, oo, xc, xo, nb)


def _op_reshape(n):
    if n.n_in != 1 or n.n_params != 0:
        return "corrupt model: RESHAPE arguments"
    x, out = n.tin[0], n.out
    if x is None or x[_DT] != out[_DT] or x[_NB] != out[_NB]:
        return "corrupt model: RESHAPE tensor types"
    xc, xo = _src(n, 0)
    return _eval_reshape, (xc, xo, out[_OFF], x[_NB])


def _eval_softmax(a, c, p):
    (xc, xo, oo, rows, depth, E, EQ, mult, ls) = p
    src = c if xc else a
    S8 = _S8
    srdhm = _srdhm
    rdbpot = _rdbpot
    for r in range(rows):
        x = xo + r * depth
        mx = -128
        for j in range(x, x + depth):
            v = S8[src[j]]
            if v > mx:
                mx = v
        total = 0
        for j in range(x, x + depth):
            total += EQ[mx - S8[src[j]]]
            if total > 0x7FFFFFFF:
                total = 0x7FFFFFFF
        hp1 = _clz(total)
        nbou = 12 - hp1
        scale = _one_over_1px(((total << hp1) & 0xFFFFFFFF) - 0x80000000)
        ex = nbou + 23
        if ex > 31:
            ex = 31
        o = oo + r * depth
        for j in range(x, x + depth):
            k = mx - S8[src[j]]
            if k >= 0:
                e = E[k]
            else:  # above the row maximum: only when a corrupt model overlaps output and input
                e = _exp_neg(_srdhm((((-k << ls) + 0x80000000) & 0xFFFFFFFF) - 0x80000000, mult), 5)
            v = -128
            if e is not None:
                v = rdbpot(srdhm(scale, e), ex) - 128
                v = -128 if v < -128 else (127 if v > 127 else v)
            a[o] = v & 255
            o += 1


def _op_softmax(n):
    if n.n_in != 1 or n.n_params != 3:
        return "corrupt model: SOFTMAX arguments"
    x, out = n.tin[0], n.out
    if not (_is(x, _INT8) and _is(out, _INT8) and x[_RANK] >= 1 and x[_RANK] == out[_RANK]
            and x[_DIMS] == out[_DIMS] and out[_ZP] == -128):
        return "corrupt model: SOFTMAX tensors"
    mult, ls, diff_min = n.params
    if not (mult >= 0 and 0 <= ls <= 31 and diff_min <= 0):
        return "corrupt model: SOFTMAX parameters"
    # exp(diff) for diff = -k, k = 0..255 (None below diff_min), and its Q12 summand.
    E = []
    EQ = []
    for k in range(256):
        if -k >= diff_min:
            e = _exp_neg(_srdhm((((-k << ls) + 0x80000000) & 0xFFFFFFFF) - 0x80000000, mult), 5)
            E.append(e)
            q = _rdbpot(e, 12)
            EQ.append(q if q > 0 else 0)
        else:
            E.append(None)
            EQ.append(0)
    depth = x[_DIMS][x[_RANK] - 1]
    xc, xo = _src(n, 0)
    return _eval_softmax, (xc, xo, out[_OFF], x[_EL] // depth, depth, tuple(E), array("i", EQ), mult,
                           ls)


def _eval_lut(a, c, p):
    xc, xo, oo, cnt, lut = p
    src = c if xc else a
    j = xo
    for o in range(oo, oo + cnt):
        a[o] = lut[src[j]]
        j += 1


def _lut(n, fn):
    xc, xo = _src(n, 0)
    lut = bytes((fn(v) & 255) for v in _S8)
    return _eval_lut, (xc, xo, n.out[_OFF], n.tin[0][_EL], lut)


def _st_params_ok(p):
    return -128 <= p[0] <= 127 and p[1] >= 0 and p[2] >= 0 and -31 <= p[3] <= 30


def _st_lut(n, tanh):
    zp, radius, mult, ls = n.params

    def f(v):
        x = v - zp
        if x <= -radius:
            return -128
        if x >= radius:
            return 127
        xq = _mbqm(x, mult, ls)
        if tanh:
            y = _rdbpot(_tanh(xq, 4), 24)
        else:
            y = _rdbpot(_logistic(xq, 4), 23) - 128
        return _clamp(y, -128, 127)
    return _lut(n, f)


def _op_logistic(n):
    if n.n_in != 1 or n.n_params != 4:
        return "corrupt model: LOGISTIC arguments"
    if not (_same8(n.tin[0], n.out) and n.out[_ZP] == -128):
        return "corrupt model: LOGISTIC tensors"
    if not _st_params_ok(n.params):
        return "corrupt model: LOGISTIC parameters"
    return _st_lut(n, False)


def _op_tanh(n):
    if n.n_in != 1 or n.n_params != 4:
        return "corrupt model: TANH arguments"
    if not _same8(n.tin[0], n.out):
        return "corrupt model: TANH tensors"
    if not _st_params_ok(n.params):
        return "corrupt model: TANH parameters"
    return _st_lut(n, True)


def _op_relu(n):
    if n.n_in != 1 or n.n_params != 6:
        return "corrupt model: RELU arguments"
    if not _same8(n.tin[0], n.out):
        return "corrupt model: RELU tensors"
    in_off, m, s, out_off, lo, hi = n.params
    if not (_off_ok(in_off) and _off_ok(out_off) and m >= 0 and -31 <= s <= 30
            and _act_ok(lo, hi, -128, 127)):
        return "corrupt model: RELU parameters"
    return _lut(n, lambda v: _clamp(_wrap(_mbqm(v + in_off, m, s) + out_off), lo, hi))


def _op_hard_swish(n):
    if n.n_in != 1 or n.n_params != 6:
        return "corrupt model: HARD_SWISH arguments"
    if not _same8(n.tin[0], n.out):
        return "corrupt model: HARD_SWISH tensors"
    in_zp, out_zp, rm, re, om, oe = n.params
    if not (-128 <= in_zp <= 127 and -128 <= out_zp <= 127 and 0 <= rm <= 32767
            and 0 <= om <= 32767 and -31 <= re <= 31 and -31 <= oe <= 0):
        return "corrupt model: HARD_SWISH parameters"

    def f(v):
        hires = _w16((v - in_zp) * 128)
        pre_x = _srdhm16(hires, om)
        r = hires
        if re > 0:
            r = _sat_shl16(r, re - 1)
        r = _srdhm16(r, rm)
        if re > 0:
            r = _sat_shl16(r, 1)
        if re < 0:
            r = _rdbpot16(r, -re)
        r = _w16((r + 32768) >> 1)
        y = _w16(_rdbpot16(_sdhm16(r, pre_x), -oe) + out_zp)
        return _clamp(y, -128, 127)
    return _lut(n, f)


def _eval_quantize_f(a, c, p):
    xc, xo, oo, cnt, th = p
    src = c if xc else a
    for i in range(cnt):
        bits = _unpack("<I", src, xo + 4 * i)[0]
        mag = bits & 0x7FFFFFFF
        key = 0 if mag > 0x7F800000 else (-mag if bits >> 31 else mag)
        lo = 0
        hi = 255
        while lo < hi:
            mid = (lo + hi) >> 1
            if th[mid] <= key:
                lo = mid + 1
            else:
                hi = mid
        a[oo + i] = (lo - 128) & 255


def _op_quantize(n):
    if n.n_in < 1:
        return "corrupt model: QUANTIZE arguments"
    x, out = n.tin[0], n.out
    if not (x is not None and _is(out, _INT8) and x[_EL] == out[_EL]):
        return "corrupt model: QUANTIZE tensors"
    if x[_DT] == _FLOAT32:
        th = n.tin[1] if n.n_in > 1 else None
        if not (n.n_in == 2 and n.n_params == 0 and _is_const(th, _INT32) and th[_EL] == 255):
            return "corrupt model: QUANTIZE arguments"
        t = _ints(n, 1)
        for k in range(1, 255):
            if t[k - 1] > t[k]:
                return "corrupt model: QUANTIZE thresholds not sorted"
        xc, xo = _src(n, 0)
        return _eval_quantize_f, (xc, xo, out[_OFF], x[_EL], t)
    if not (x[_DT] == _INT8 and n.n_in == 1 and n.n_params == 4):
        return "corrupt model: QUANTIZE arguments"
    in_zp, out_zp, m, s = n.params
    if not (_off_ok(in_zp) and _off_ok(out_zp) and m >= 0 and -31 <= s <= 30):
        return "corrupt model: QUANTIZE parameters"
    return _lut(n, lambda v: _clamp(_wrap(_mbqm(v - in_zp, m, s) + out_zp), -128, 127))


def _eval_dequantize(a, c, p):
    xc, xo, oo, cnt, tbl = p
    src = c if xc else a
    for i in range(cnt):
        _pack("<I", a, oo + 4 * i, tbl[src[xo + i]])


def _op_dequantize(n):
    if n.n_in != 2 or n.n_params != 0:
        return "corrupt model: DEQUANTIZE arguments"
    x, tb, out = n.tin[0], n.tin[1], n.out
    if not (_is(x, _INT8) and _is(out, _FLOAT32) and _is_const(tb, _FLOAT32) and tb[_EL] == 256
            and x[_EL] == out[_EL]):
        return "corrupt model: DEQUANTIZE tensors"
    t = _unpack("<256I", n.src, n.ioff[1])
    xc, xo = _src(n, 0)
    # indexed by the input byte: entry x + 128 for the int8 value x
    return _eval_dequantize, (xc, xo, out[_OFF], x[_EL], tuple(t[v + 128] for v in _S8))


# Validators by opcode (natmod/engine/format.h numbering).
_OPS = (None, _op_conv_2d, _op_depthwise_conv_2d, _op_fully_connected, _op_average_pool_2d,
        _op_max_pool_2d, _op_mean, _op_add, _op_sub, _op_mul, _op_concatenation, _op_pad,
        _op_reshape, _op_softmax, _op_logistic, _op_tanh, _op_relu, _op_hard_swish,
        _op_quantize, _op_dequantize)
