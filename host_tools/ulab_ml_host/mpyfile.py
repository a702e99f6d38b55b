"""Write a MicroPython .mpy module that only defines constants (`MODEL = b'...'`, ...).

`ulab-ml convert --format mpy` uses it to wrap a ulab_ml blob in a module that can be imported
from a filesystem or frozen into a firmware. The module is bytecode only (no native code), in
.mpy format version 6 as MicroPython 1.25's mpy-cross writes it (docs/reference/mpyfiles.rst and
py/persistentcode.c of MicroPython): for `NAME = <constant>` statements on one source line this
writer's output is byte for byte what mpy-cross 1.25 makes of them (tests/test_frozen.py checks
that), except for the optional alignment padding below and for str values shorter than 10
characters, which mpy-cross interns as qstrs and this writer keeps as str objects (both load
as the same str). It is written here rather than by running
mpy-cross so that `ulab-ml convert` needs no MicroPython build and no extra package, and so that
the bytes constant can be placed at an aligned offset of the file.

Layout: header `M`, 6, 0 (bytecode only: no arch, no sub-version), 31 (bits in a small int);
the counts of qstrs and constant objects; the qstrs (source file name, `<module>` as static qstr
7, then the names); the objects (bytes and str: type, length, data, NUL); then the module's
bytecode: prelude (stack size 1, no arguments), the simple name, and per constant
LOAD_CONST_OBJ / LOAD_CONST_SMALL_INT then STORE_NAME, ending with `return None`.

Alignment: MicroPython reads a length with any number of leading 0x80 bytes (a varint with
leading zero groups), so the length of each bytes constant is padded that way until its data
starts at a multiple of `align` bytes in the file. A .mpy imported in place from a ROMFS image
whose file data is that aligned (MicroPython 1.25 then references bytes constants where they lie)
gives ulab_ml an aligned blob, which it can use in place.
"""

from __future__ import annotations

MPY_VERSION = 6
SMALL_INT_BITS = 31
QSTR_MODULE = 7  # "<module>": index 7 of MicroPython's static qstr list (fixed for .mpy version 6)

_OBJ_STR = 5
_OBJ_BYTES = 6
_BC_LOAD_CONST_NONE = 0x51
_BC_RETURN_VALUE = 0x63
_BC_LOAD_CONST_SMALL_INT = 0x22
_BC_LOAD_CONST_SMALL_INT_MULTI = 0x70  # one byte for -16 <= n < 48: 0x70 + 16 + n
_BC_LOAD_CONST_OBJ = 0x23
_BC_STORE_NAME = 0x16
_SMALL_INT_MIN = -(1 << (SMALL_INT_BITS - 1))
_SMALL_INT_MAX = (1 << (SMALL_INT_BITS - 1)) - 1

Constant = bytes | str | int


def _uint(n: int, width: int = 0) -> bytes:
    """Unsigned varint, big-endian groups of 7 bits, at least `width` bytes (leading 0x80s)."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.insert(0, 0x80 | (n & 0x7F))
        n >>= 7
    while len(out) < width:
        out.insert(0, 0x80)
    return bytes(out)


def _sint(n: int) -> bytes:
    """Signed varint of LOAD_CONST_SMALL_INT (py/emitbc.c: bit 0x40 of the first byte is the sign)."""
    groups = []
    while True:
        groups.insert(0, n & 0x7F)
        n >>= 7
        if n in (0, -1):
            break
    if n == -1 and not groups[0] & 0x40:
        groups.insert(0, 0x7F)
    elif n == 0 and groups[0] & 0x40:
        groups.insert(0, 0)
    return bytes([0x80 | g for g in groups[:-1]] + [groups[-1]])


def _qstr(s: str) -> bytes:
    data = s.encode()
    return _uint(len(data) << 1) + data + b"\0"


def constants_module(constants: list[tuple[str, Constant]], source_file: str, align: int = 16) -> bytes:
    """The .mpy of a module running `NAME = value` for each (name, value), in order.
    Values: bytes, str, or int in MicroPython's small-int range (31-bit signed).
    source_file: the file name the module reports (its `__file__` when frozen).
    align: data of each bytes constant starts at a multiple of this many bytes in the file
    (1: no padding, exactly mpy-cross's output)."""
    names: list[str] = []
    objs: list[bytes | str] = []
    code = bytearray()
    for name, value in constants:
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not a Python identifier")
        if isinstance(value, (bytes, str)):
            code += bytes([_BC_LOAD_CONST_OBJ]) + _uint(len(objs))
            objs.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _SMALL_INT_MIN <= value <= _SMALL_INT_MAX:
                raise ValueError(f"{name} = {value}: outside MicroPython's small-int range")
            if -16 <= value < 48:
                code.append(_BC_LOAD_CONST_SMALL_INT_MULTI + 16 + value)
            else:
                code += bytes([_BC_LOAD_CONST_SMALL_INT]) + _sint(value)
        else:
            raise TypeError(f"{name}: constants must be bytes, str or int (got {type(value).__name__})")
        if name not in names:
            names.append(name)
        code += bytes([_BC_STORE_NAME]) + _uint(2 + names.index(name))  # qstr 0: file, 1: <module>
    code += bytes([_BC_LOAD_CONST_NONE, _BC_RETURN_VALUE])
    # Prelude: signature 0x00 (stack size 1, no arguments, no flags); size 0x02 (one byte of
    # info: the simple name, no line numbers: every statement is on line 1; no cells); the
    # simple name, qstr 1.
    fun = bytes([0x00, 0x02, 0x01]) + code

    out = bytearray(b"M" + bytes([MPY_VERSION, 0, SMALL_INT_BITS]))
    out += _uint(2 + len(names)) + _uint(len(objs))
    out += _qstr(source_file) + _uint(QSTR_MODULE << 1 | 1)
    for name in names:
        out += _qstr(name)
    for obj in objs:
        data = obj if isinstance(obj, bytes) else obj.encode()
        out.append(_OBJ_BYTES if isinstance(obj, bytes) else _OBJ_STR)
        length = _uint(len(data))
        if isinstance(obj, bytes) and align > 1:
            width = len(length)
            while (len(out) + width) % align:
                width += 1
            length = _uint(len(data), width)
        out += length + data + b"\0"
    out += _uint(len(fun) << 3)  # no children, kind 0 (bytecode)
    out += fun
    return bytes(out)

