"""`ulab-ml deploy`: copy what a board needs to run a model, with mpremote.

Three files go to the board's current directory (on sys.path as '' on every MicroPython port),
or to --dest DIR under it:

- ulab_ml/__init__.py            the on-device package (Python source);
- ulab_ml_<arch>.mpy             the native module for the architecture the board reports
                                 (sys.implementation._mpy), or an older one its firmware can load
                                 (armv7emsp boards take armv7m, as ulab_ml's own loader does);
- <name>.uml                     the model (a .tflite is converted first).

One `mpremote exec` probes the board: its mpy version and native arch, its current directory,
and for each target path the size and (when the size matches) the SHA-256 the board computes
with hashlib. Files whose size and hash already match are skipped; the others are copied in one
further mpremote run (`cp -f`, since the comparison is already done: mpremote 1.29's own `cp`
would hash each destination again, one round trip per file, and reads the whole file back when
the board has no hashlib), which ends with the probe again to check every copied file.

Errors (exit 2): no board answering on the port; a board whose MicroPython cannot load native
modules or whose arch/mpy version no built native module fits; not enough free space.
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .paths import DEVICE_PACKAGE, NATMOD_DIR

# sys.implementation._mpy: bits 0-7 mpy version, 8-9 sub-version, 10-13 native arch (py/persistentcode.h)
ARCH_NAMES = ("", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
              "xtensa", "xtensawin", "rv32imc")
# Native modules a firmware of each arch can also load (as in ulab_ml/__init__.py).
COMPATIBLE = {
    "armv7em": ("armv7m", "armv6m"),
    "armv7emsp": ("armv7m", "armv6m"),
    "armv7emdp": ("armv7emsp", "armv7m", "armv6m"),
    "armv7m": ("armv6m",),
}
EXIT_DEPLOY = 2
MPREMOTE_TIMEOUT = 300.0


class DeployError(Exception):
    def __init__(self, message: str, code: int = EXIT_DEPLOY):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BoardFacts:
    """What the probe found on the board."""

    mpy: int                                   # sys.implementation._mpy (0 if absent)
    platform: str
    machine: str
    cwd: str
    fs_free: int | None                        # bytes free in the current directory's filesystem
    files: dict[str, tuple[int, str | None] | None]  # path -> (size, sha256 hex or None) | None

    @property
    def mpy_version(self) -> tuple[int, int]:
        return self.mpy & 0xFF, (self.mpy >> 8) & 3

    @property
    def arch(self) -> str | None:
        a = (self.mpy >> 10) & 0x0F
        return ARCH_NAMES[a] if 0 < a < len(ARCH_NAMES) else None


@dataclass(frozen=True)
class FileResult:
    remote: str
    size: int
    copied: bool


@dataclass(frozen=True)
class DeployReport:
    port: str
    arch: str
    natmod: str
    files: list[FileResult]
    seconds: float


# Runs on the board. PATHS: {remote path: local size}; the hash is computed only when the sizes
# match (a mismatch already means "copy"). Prints one line: ULML-PROBE <python literal>.
_PROBE = """
import sys, os
try:
    import hashlib, binascii
    H = hashlib.sha256
except (ImportError, AttributeError):
    H = None
def _f(p, n):
    try:
        s = os.stat(p)
    except OSError:
        return None
    if s[0] & 0x4000:
        return (-1, None)
    if s[6] != n or H is None:
        return (s[6], None)
    h = H()
    b = bytearray(512)
    m = memoryview(b)
    with open(p, 'rb') as f:
        while True:
            k = f.readinto(b)
            if not k:
                break
            h.update(m[:k])
    return (s[6], binascii.hexlify(h.digest()).decode())
try:
    _v = os.statvfs('.')
    _free = _v[0] * _v[3]
except (AttributeError, OSError):
    _free = None
print('ULML-PROBE', repr((getattr(sys.implementation, '_mpy', 0), sys.platform,
    getattr(sys.implementation, '_machine', ''), os.getcwd(), _free,
    dict((p, _f(p, n)) for p, n in PATHS.items()))))
"""


def mpremote_argv() -> list[str]:
    """How to run mpremote: the one installed next to this Python (requirements.txt pins it)."""
    try:
        import mpremote  # noqa: F401
    except ImportError as exc:
        raise DeployError("mpremote is not installed in this Python environment (pip install mpremote)") from exc
    return [sys.executable, "-m", "mpremote"]


def run_mpremote(port: str, args: list[str], timeout: float = MPREMOTE_TIMEOUT) -> subprocess.CompletedProcess:
    """`mpremote connect PORT ARGS...`; DeployError when the board cannot be reached."""
    argv = [*mpremote_argv(), "connect", port, *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise DeployError(f"no answer from the board on {port} within {timeout:.0f} s "
                          f"(mpremote {' '.join(args[:2])})") from exc
    return proc


def _mpremote_error(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return text[-1] if text else f"mpremote exited with status {proc.returncode}"


def _probe_code(paths: dict[str, int]) -> str:
    return f"PATHS = {paths!r}\n" + _PROBE


def _parse_probe(proc: subprocess.CompletedProcess, port: str, what: str) -> BoardFacts:
    marker = "ULML-PROBE "
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(marker)), None)
    if proc.returncode != 0 or line is None:
        msg = _mpremote_error(proc)
        if "failed to access" in msg or "could not enter raw repl" in msg or "no device found" in msg:
            raise DeployError(f"no board on {port}: {msg}")
        raise DeployError(f"{what} on {port} failed: {msg}")
    mpy, platform, machine, cwd, free, files = ast.literal_eval(line[len(marker):])
    return BoardFacts(int(mpy), str(platform), str(machine), str(cwd), free, files)


def probe(port: str, paths: dict[str, int]) -> BoardFacts:
    """Run the probe on the board; sizes and hashes of `paths` ({remote path: local size})."""
    return _parse_probe(run_mpremote(port, ["exec", _probe_code(paths)]), port, "probing the board")


def _natmod_header(path: Path) -> tuple[int, int, str]:
    """(mpy version, sub-version, arch) from a native .mpy header: 'M', version, arch<<2|sub, ..."""
    head = path.read_bytes()[:4]
    arch = head[2] >> 2
    return head[1], head[2] & 3, ARCH_NAMES[arch] if arch < len(ARCH_NAMES) else f"arch#{arch}"


def choose_natmod(facts: BoardFacts, natmod_dir: Path = NATMOD_DIR) -> Path:
    """The native module for the board: its own arch's, else the newest compatible one built."""
    if facts.mpy == 0:
        raise DeployError(f"the board's MicroPython ({facts.platform}) does not report "
                          "sys.implementation._mpy: it cannot load native modules")
    arch = facts.arch
    if arch is None:
        raise DeployError(f"the board's MicroPython ({facts.machine or facts.platform}) cannot load native "
                          f"modules (sys.implementation._mpy = {facts.mpy}: no native arch)")
    built = sorted(p.name for p in natmod_dir.glob("ulab_ml_*.mpy"))
    candidates = [natmod_dir / f"ulab_ml_{a}.mpy" for a in (arch, *COMPATIBLE.get(arch, ()))]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        known = arch in ("x64", "armv6m", "armv7m", "armv7emsp") or arch in COMPATIBLE
        hint = (f"scripts/build_natmod.sh {arch} builds it" if known else
                "ulab_ml builds native modules for x64, armv6m, armv7m and armv7emsp only")
        raise DeployError(f"no ulab_ml native module for the board's arch {arch} "
                          f"({facts.machine or facts.platform}); built: {', '.join(built) or 'none'} "
                          f"in {natmod_dir}; {hint}")
    ver, sub, _ = _natmod_header(found)
    if (ver, sub) != facts.mpy_version:
        raise DeployError(f"{found.name} is mpy v{ver}.{sub} but the board's MicroPython takes native modules "
                          f"of mpy v{facts.mpy_version[0]}.{facts.mpy_version[1]} only "
                          f"({facts.machine or facts.platform}); ulab_ml's are built for MicroPython 1.25")
    return found


def _join(dest: str, name: str) -> str:
    return f"{dest.rstrip('/')}/{name}" if dest else name


def deploy(blob: bytes, model_name: str, port: str, *, dest: str = "",
           log: Callable[[str], None] = print) -> DeployReport:
    """Copy the ulab_ml package, the board's native module and the model (blob, as
    `model_name`) to the board on `port`, skipping files already identical there."""
    t0 = time.monotonic()
    package = (DEVICE_PACKAGE / "__init__.py").read_bytes()
    natmods = {p: p.read_bytes() for p in sorted(NATMOD_DIR.glob("ulab_ml_*.mpy"))}
    pkg_remote = _join(dest, "ulab_ml/__init__.py")
    model_remote = _join(dest, model_name)
    want = {pkg_remote: len(package), model_remote: len(blob)}
    want.update({_join(dest, p.name): len(data) for p, data in natmods.items()})
    facts = probe(port, want)
    natmod = choose_natmod(facts)
    log(f"board on {port}: {facts.machine or facts.platform}, mpy v{facts.mpy_version[0]}.{facts.mpy_version[1]}, "
        f"native arch {facts.arch} -> {natmod.name}; into {facts.cwd.rstrip('/')}/{dest}")

    plan = [(pkg_remote, package), (_join(dest, natmod.name), natmods[natmod]), (model_remote, blob)]
    results: list[FileResult] = []
    to_copy: list[tuple[str, bytes]] = []
    for remote, data in plan:
        have = facts.files.get(remote)
        same = have is not None and have[0] == len(data) and have[1] == hashlib.sha256(data).hexdigest()
        if have is not None and have[0] == -1:
            raise DeployError(f"{remote} is a directory on the board; remove it first")
        results.append(FileResult(remote, len(data), not same))
        if not same:
            to_copy.append((remote, data))

    if to_copy:
        need = sum(len(d) for _, d in to_copy)
        freed = sum((facts.files.get(r) or (0, None))[0] for r, _ in to_copy)
        if facts.fs_free is not None and need - freed > facts.fs_free - 8192:
            raise DeployError(f"not enough space on the board: {need} bytes to copy, "
                              f"{facts.fs_free} bytes free in {facts.cwd}")
        check = _copy(port, to_copy)
        for remote, data in to_copy:
            got = check.files.get(remote)
            digest = hashlib.sha256(data).hexdigest()
            if got is None or got[0] != len(data) or (got[1] is not None and got[1] != digest):
                raise DeployError(f"{remote} on the board does not match after copying (found {got})")

    for r in results:
        log(f"  {'copied ' if r.copied else 'skipped'} {r.remote:<28} {r.size:>8} bytes"
            f"{'' if r.copied else '  (identical on the board)'}")
    report = DeployReport(port, facts.arch or "", natmod.name, results, time.monotonic() - t0)
    ncopied = sum(r.copied for r in results)
    log(f"{ncopied} copied, {len(results) - ncopied} skipped in {report.seconds:.1f} s. On the board: "
        f"from ulab_ml import Model; m = Model.load({model_remote!r})")
    return report


def _copy(port: str, files: list[tuple[str, bytes]]) -> BoardFacts:
    """One mpremote run: make the directories, `cp -f` each file, probe them again."""
    dirs: list[str] = []
    for remote, _ in files:
        parts = remote.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in dirs:
                dirs.append(d)
    mkdirs = f"import os\nfor d in {dirs!r}:\n    try:\n        os.mkdir(d)\n    except OSError:\n        pass\n"
    with tempfile.TemporaryDirectory(prefix="ulab_ml_deploy_") as tmp:
        args = ["exec", mkdirs]
        for i, (remote, data) in enumerate(files):
            local = Path(tmp) / f"{i}_{remote.rsplit('/', 1)[-1]}"
            local.write_bytes(data)
            args += ["+", "cp", "-f", str(local), ":" + remote]
        args += ["+", "exec", _probe_code({remote: len(data) for remote, data in files})]
        proc = run_mpremote(port, args)
    return _parse_probe(proc, port, "copying to the board")
