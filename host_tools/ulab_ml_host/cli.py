"""ulab-ml: convert TFLite int8 models for ulab_ml, inspect them, run them on a target."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import __doc__ as _pkg_doc  # noqa: F401
from . import serial_target
from .blob import Blob, BlobError, parse_blob, ram_per_mode
from .cmsis_nn import ARCHS as CMSIS_ARCHS
from .convert import blob_module, convert
from .lowering import UnsupportedModel
from .serial_target import is_serial_port
from .targets import TARGETS, Job, ModelRejected, TargetError, run_jobs
from .tflite_reader import TFLiteReadError

EXIT_REJECTED = 2
EXIT_TARGET_DIED = 3


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_REJECTED):
        super().__init__(message)
        self.code = code


def load_blob(path: Path) -> bytes:
    """A .uml file's bytes, or a .tflite file converted to a blob in memory."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    if data[:4] == b"ULML":
        return data
    try:
        return convert(data).blob
    except UnsupportedModel as exc:
        raise CliError(f"{path}: {exc}") from exc
    except TFLiteReadError as exc:
        raise CliError(f"{path}: {exc}") from exc


def op_macs(blob: Blob, i: int) -> int:
    op = blob.ops[i]
    out = int(np.prod(blob.tensors[op.output].shape, dtype=np.int64))
    if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and op.inputs[1] is not None:
        f = blob.tensors[op.inputs[1]].shape
        per_out = int(np.prod(f[1:], dtype=np.int64))
        if op.opcode == "DEPTHWISE_CONV_2D":
            per_out = int(np.prod(f[1:-1], dtype=np.int64))
        return out * per_out
    return 0


def describe(blob_bytes: bytes, cmsis_nn_arch: str | None = None) -> dict:
    """cmsis_nn_arch: describe the model as the CMSIS-NN build of the native module for that
    architecture runs it (docs/CMSIS_NN.md): its arena has CMSIS-NN's scratch at the tail, which
    arena_bytes and ram_bytes then include."""
    blob = parse_blob(blob_bytes)
    planned = blob.arena_size
    cmsis = None
    if cmsis_nn_arch is not None:
        from dataclasses import replace

        from .cmsis_nn import cmsis_nn_arena_size
        arena = cmsis_nn_arena_size(blob, cmsis_nn_arch)
        cmsis = {"arch": cmsis_nn_arch, "planned_arena_bytes": planned, "scratch_tail_bytes": arena - planned}
        blob = replace(blob, arena_size=arena)
    ops = []
    for i, op in enumerate(blob.ops):
        ops.append({
            "op": op.opcode,
            "inputs": [list(blob.tensors[t].shape) for t in op.inputs
                       if t is not None and blob.tensors[t].storage == "arena"],
            "output": list(blob.tensors[op.output].shape),
            "const_bytes": op.const_span[1],
            "macs": op_macs(blob, i),
        })
    return {
        "format_version": f"{blob.version[0]}.{blob.version[1]}",
        "input": {"shape": list(blob.input.shape), "dtype": blob.input.dtype,
                  "scale": blob.input.scale, "zero_point": blob.input.zero_point},
        "output": {"shape": list(blob.output.shape), "dtype": blob.output.dtype,
                   "scale": blob.output.scale, "zero_point": blob.output.zero_point},
        "ops": ops,
        "arena_bytes": blob.arena_size,
        "weights_bytes": blob.const_size,
        "blob_bytes": blob.size,
        "macs": sum(o["macs"] for o in ops),
        "ram_bytes": ram_per_mode(blob),
        "flash_bytes": blob.size,
        "stream_buffer_bytes": max(blob.max_const_span, 256),
        "stream_bytes_per_inference": sum(op.const_span[1] for op in blob.ops),
        **({"cmsis_nn": cmsis} if cmsis is not None else {}),
    }


def cmd_convert(args: argparse.Namespace) -> int:
    src = Path(args.model)
    out = Path(args.output) if args.output else None
    fmt = args.format or ("mpy" if out is not None and out.suffix == ".mpy" else "uml")
    if out is None:
        out = src.with_suffix("." + fmt)
    if fmt == "mpy" and (out.suffix != ".mpy" or not out.stem.isidentifier()):
        raise CliError(f"--format mpy writes a module: the output must be NAME.mpy with NAME a Python "
                       f"identifier (the name to import), not {out.name!r}")
    if fmt == "uml" and out.suffix == ".mpy":
        raise CliError(f"{out.name}: a .mpy output needs --format mpy (or leave --format out)")
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {src}: {exc.strerror}") from exc
    try:
        conv = convert(data)
    except (UnsupportedModel, TFLiteReadError) as exc:
        raise CliError(f"{src}: cannot convert: {exc}") from exc
    summary = f"{len(conv.model.ops)} ops, arena {conv.plan.arena_size} bytes"
    if fmt == "mpy":
        out.write_bytes(blob_module(conv.blob, out.stem, src.name))
        print(f"{out}: module {out.stem}, {out.stat().st_size} bytes: MODEL (the {len(conv.blob)}-byte blob), "
              f"SOURCE, ARENA_SIZE; {summary}. On the board: import {out.stem}; "
              f"Model.load({out.stem})")
    else:
        out.write_bytes(conv.blob)
        print(f"{out}: {len(conv.blob)} bytes, {summary}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    blob_bytes = load_blob(Path(args.model))
    info = describe(blob_bytes, args.cmsis_nn)
    if args.plot:
        from .memplot import plot_memory
        plot_memory(parse_blob(blob_bytes), Path(args.plot), f"{Path(args.model).name}: memory plan")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"input  {info['input']['dtype']} {info['input']['shape']}   "
          f"output {info['output']['dtype']} {info['output']['shape']}")
    print(f"{'#':>3}  {'op':<18} {'inputs':<28} {'output':<18} {'MACs':>10}")
    for i, op in enumerate(info["ops"]):
        print(f"{i:>3}  {op['op']:<18} {str(op['inputs']):<28} {str(op['output']):<18} {op['macs']:>10}")
    cm = info.get("cmsis_nn")
    arena_note = (f" (CMSIS-NN build for {cm['arch']}: planned {cm['planned_arena_bytes']} + scratch tail "
                  f"{cm['scratch_tail_bytes']})" if cm else "")
    print(f"arena {info['arena_bytes']} bytes{arena_note}, weights {info['weights_bytes']} bytes, "
          f"blob {info['blob_bytes']} bytes, {info['macs']} MACs")
    ram = info["ram_bytes"]
    print(f"RAM on a 32-bit board: {ram['ram']} bytes with weights in RAM, {ram['inplace']} in place "
          f"(frozen/ROMFS), {ram['stream']} streamed (buffer {info['stream_buffer_bytes']} bytes, "
          f"{info['stream_bytes_per_inference']} bytes read per inference); flash/file {info['flash_bytes']} bytes")
    return 0


def target_arg(value: str) -> str:
    """--target: a built-in target or a serial port (a real board, serial_target)."""
    if value in TARGETS or is_serial_port(value):
        return value
    raise argparse.ArgumentTypeError(f"unknown target {value!r}: one of {', '.join(TARGETS)}, or a board's "
                                     "serial port such as /dev/ttyACM0, /dev/pts/3 or COM3")


TARGET_HELP = ("unix (the MicroPython unix port), qemu-m0, qemu-m3, qemu-m4 (emulated boards), or the serial "
               "port of a board running MicroPython (/dev/ttyACM0, COM3, or a QEMU board's pty from `python -m "
               "ulab_ml_host.board start`): ulab_ml, the board's native module and the model (as MODEL's name "
               "with .uml) are copied to it first as by `ulab-ml deploy`, then the inputs go over the "
               "serial port one at a time (default: unix)")


def board_model_name(model: str) -> str:
    """The model's file name on a serial-port board (as `ulab-ml deploy` names it)."""
    return Path(model).with_suffix(".uml").name


def where(target: str) -> str:
    """The target for messages: a serial port with the backend its board ran."""
    if is_serial_port(target) and serial_target.last_runs:
        return f"{target} ({serial_target.last_runs[-1].backend})"
    return target


def cmd_run(args: argparse.Namespace) -> int:
    blob_bytes = load_blob(Path(args.model))
    try:
        blob = parse_blob(blob_bytes)
    except BlobError as exc:
        raise CliError(f"{args.model}: {exc}") from exc
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read input {args.input}: {exc}") from exc
    want = tuple(blob.input.shape)
    if tuple(x.shape[1:]) != want:
        raise CliError(f"input has shape {list(x.shape)}; the model needs (N, {', '.join(map(str, want))})")
    if x.dtype != np.dtype(blob.input.dtype):
        raise CliError(f"input has dtype {x.dtype}; the model needs {blob.input.dtype}")
    job = Job(blob_bytes, x, blob.output.dtype, tuple(blob.output.shape), name=board_model_name(args.model))
    try:
        (result,) = run_jobs(args.target, [job])
    except TargetError as exc:
        raise CliError(f"target {args.target}: {exc}", EXIT_TARGET_DIED) from exc
    if isinstance(result, ModelRejected):
        raise CliError(f"the device rejected the model or input: {result}")
    np.save(args.output, result)
    print(f"{args.output}: {len(x)} inferences on {where(args.target)}, output {result.dtype} {list(result.shape)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .oracle import run_oracle

    path = Path(args.model)
    try:
        tflite = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    if tflite[:4] == b"ULML":
        raise CliError("verify needs the .tflite model (TensorFlow Lite Micro runs it as the oracle)")
    blob_bytes = load_blob(path)
    blob = parse_blob(blob_bytes)
    shape, dtype = tuple(blob.input.shape), np.dtype(blob.input.dtype)
    rng = np.random.default_rng(args.seed)
    if dtype == np.int8:
        x = rng.integers(-128, 128, size=(args.count, *shape), dtype=np.int8)
    else:
        x = rng.normal(0.0, 1.0, size=(args.count, *shape)).astype(dtype)
    if args.input:
        given = np.load(args.input, allow_pickle=False)
        if tuple(given.shape[1:]) != shape or given.dtype != dtype:
            raise CliError(f"input has shape {list(given.shape)} {given.dtype}; the model needs "
                           f"(N, {', '.join(map(str, shape))}) {dtype}")
        x = np.concatenate([given, x])
    job = Job(blob_bytes, x, blob.output.dtype, tuple(blob.output.shape), name=board_model_name(args.model))
    try:
        (ours,) = run_jobs(args.target, [job])
    except TargetError as exc:
        raise CliError(f"target {args.target}: {exc}", EXIT_TARGET_DIED) from exc
    if isinstance(ours, ModelRejected):
        raise CliError(f"the device rejected the model or input: {ours}")
    (expected,) = run_oracle([(tflite, x)])
    if not isinstance(expected, np.ndarray):
        raise CliError(f"TensorFlow Lite Micro could not run the model: {expected}")
    expected = expected.reshape(ours.shape)
    diff = np.argwhere(ours != expected)
    if len(diff) == 0:
        print(f"bit-exact: {len(x)} inputs on {where(args.target)}, {ours.size} output values equal to "
              "TensorFlow Lite Micro")
        return 0
    first = tuple(int(i) for i in diff[0])
    print(f"DIFFERS: {len(diff)} of {ours.size} output values differ on {where(args.target)}; first at input "
          f"{first[0]}, index {list(first[1:])}: ulab_ml {ours[first]} vs TensorFlow Lite Micro {expected[first]}")
    return 1


def cmd_fit(args: argparse.Namespace) -> int:
    from .fit import fit_report, load_board, measure_instructions

    try:
        board = load_board(args.board)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from exc
    blob_bytes = load_blob(Path(args.model))
    blob = parse_blob(blob_bytes)
    instructions, source, latency = args.instructions, "given with --instructions", None
    if not board.clock_hz:
        latency = f"not estimated: boards/{board.name}/board.json gives no clock_hz"
    elif instructions is None and args.no_measure:
        latency = "not estimated (--no-measure; --instructions N gives one)"
    elif instructions is None and board.bench_target is None:
        latency = f"not estimated: boards/{board.name}/board.json names no bench_target to measure on"
    elif instructions is None:
        print(f"counting instructions per inference on {board.bench_target} (ulab-ml bench) ...",
              file=sys.stderr, flush=True)
        try:
            instructions = measure_instructions(board, Path(args.model).name, blob_bytes)
            source = f"counted by ulab-ml bench on {board.bench_target}"
        except (TargetError, ValueError) as exc:
            latency = f"not estimated: ulab-ml bench on {board.bench_target} failed: {exc}"
    try:
        rep = fit_report(blob, board, instructions, source, cmsis_nn=args.cmsis_nn)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if latency:
        rep["latency_note"] = latency
    if args.json:
        print(json.dumps(rep, indent=2))
        return 0
    print(f"{Path(args.model).name} on {board.name} ({board.description}): "
          f"{rep['heap_available_bytes']} bytes of heap for models after importing ulab_ml, "
          f"{board.flash_bytes if board.flash_bytes is not None else 'unlimited'} bytes of flash")
    if "cmsis_nn" in rep:
        cm = rep["cmsis_nn"]
        print(f"  CMSIS-NN build ({cm['why']}): arena {cm['arena_bytes']} bytes = planned "
              f"{cm['planned_arena_bytes']} + CMSIS-NN scratch {cm['scratch_tail_bytes']}; "
              f"native module {cm['native_module']}")
    for mode, m in rep["modes"].items():
        verdict = {"yes": "yes", "no": "NO", "tight": "tight (may fail on a fragmented heap)"}[rep["fits"][mode]]
        note = f"  ({m['note']})" if "note" in m else ""
        print(f"  weights {mode:<8} RAM {m['ram_bytes']:>8} bytes, flash {m['flash_bytes']:>8} bytes: "
              f"fits {verdict}{note}")
    if "estimated_ms_per_inference" in rep:
        print(f"  latency estimate: {rep['estimated_ms_per_inference']} ms per inference ({rep['estimate_basis']})")
    elif latency:
        print(f"  latency: {latency}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import bench_models, format_result

    blob_bytes = load_blob(Path(args.model))
    try:
        parse_blob(blob_bytes)
    except BlobError as exc:
        raise CliError(f"{args.model}: {exc}") from exc
    try:
        (result,) = bench_models(args.target, [(args.model, blob_bytes)], seed=args.seed, mode=args.mode)
    except TargetError as exc:
        raise CliError(f"target {args.target}: {exc}", EXIT_TARGET_DIED) from exc
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_result(result))
    if result.error:
        if not args.json:
            print(f"ulab-ml: error: {result.error}", file=sys.stderr)
        return EXIT_REJECTED
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from .quantize import QuantizeError, quantize_to_file

    def load(path: str, what: str) -> np.ndarray:
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read {what} {path}: {exc}") from exc

    calib = load(args.calib, "calibration set")
    val = (load(args.val[0], "validation inputs"), load(args.val[1], "validation targets")) if args.val else None
    src = Path(args.model)
    out = Path(args.output) if args.output else src.with_suffix(".tflite")
    try:
        quantize_to_file(src, calib, out, val=val, float_io=args.float_io, progress=not args.quiet)
    except QuantizeError as exc:
        raise CliError(str(exc)) from exc
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from .deploy import DeployError, deploy

    path = Path(args.model)
    blob_bytes = load_blob(path)
    try:
        parse_blob(blob_bytes)
    except BlobError as exc:
        raise CliError(f"{args.model}: {exc}") from exc
    name = args.name or path.with_suffix(".uml").name
    if not name.endswith(".uml") or "/" in name:
        raise CliError(f"--name must be a file name ending in .uml (got {name!r})")
    try:
        deploy(blob_bytes, name, args.port, dest=args.dest.strip("/"))
    except DeployError as exc:
        raise CliError(str(exc), exc.code) from exc
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ulab-ml", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("convert", help="convert a .tflite int8 model to a ulab_ml blob (.uml) or .mpy module",
                       description="Convert a .tflite int8 model to a ulab_ml blob. Exit 2 (naming every "
                                   "unsupported op and dtype) when the model cannot be converted exactly. "
                                   "--format uml writes the blob itself, for Model.load(path). --format mpy "
                                   "writes a MicroPython module (.mpy version 6, bytecode only, as MicroPython "
                                   "1.25 loads) defining MODEL (the blob as bytes), SOURCE (the .tflite's name) "
                                   "and ARENA_SIZE, for `import NAME; Model.load(NAME)`: frozen into a firmware "
                                   "(FROZEN_MANIFEST) the blob stays in flash and is used in place, if the "
                                   "firmware aligns it (docs/MEMORY.md, \"Where the weights live\"); a .mpy "
                                   "copied to a filesystem is read into RAM by the import.")
    c.add_argument("model", help="input .tflite file")
    c.add_argument("-o", "--output", help="output file (default: MODEL with .uml or .mpy suffix); a .mpy "
                                          "file's name is the module name, so it must be NAME.mpy with NAME "
                                          "a Python identifier")
    c.add_argument("--format", choices=("uml", "mpy"),
                   help="uml: the blob; mpy: a MicroPython module holding it (default: mpy if the output "
                        "ends in .mpy, else uml)")
    c.set_defaults(func=cmd_convert)

    q = sub.add_parser("quantize", help="quantize a float Keras model to an int8 .tflite (needs TensorFlow)",
                       description="TensorFlow post-training full-integer quantization with a calibration set: "
                                   "int8 weights and activations, int8 input and output (float32 with --float-io). "
                                   "With --val, prints float vs int8 (TensorFlow Lite Micro) accuracy for "
                                   "integer labels, MSE / MAE for float targets. Needs the quantize extra "
                                   "(TensorFlow); exit 2 when it is missing or the model or data is unusable.")
    q.add_argument("model", help="float model: .keras (or .h5) file or SavedModel directory")
    q.add_argument("--calib", required=True, metavar="X.npy",
                   help="calibration inputs, float (N, *input_shape); a few hundred typical inputs")
    q.add_argument("-o", "--output", help="output .tflite (default: MODEL with .tflite suffix)")
    q.add_argument("--val", nargs=2, metavar=("X.npy", "Y.npy"),
                   help="validation inputs (N, *input_shape) and targets: integer class labels (N,) for "
                        "accuracy, float targets for MSE / MAE")
    q.add_argument("--float-io", action="store_true",
                   help="keep float32 model input and output (QUANTIZE / DEQUANTIZE at the edges)")
    q.add_argument("--quiet", action="store_true", help="no progress bars")
    q.set_defaults(func=cmd_quantize)

    i = sub.add_parser("inspect", help="show a model's ops, shapes, memory and size",
                       description="Show ops (with input/output shapes and MACs), arena bytes, weight "
                                   "bytes and blob bytes of a .tflite or .uml model.")
    i.add_argument("model", help=".tflite or .uml file")
    i.add_argument("--json", action="store_true", help="print one JSON object")
    i.add_argument("--plot", metavar="FILE.png", help="draw the memory plan (tensors over op index vs arena offset)")
    i.add_argument("--cmsis-nn", metavar="ARCH", choices=CMSIS_ARCHS,
                   help="figures for the CMSIS-NN build of the native module for ARCH (docs/CMSIS_NN.md): "
                        "arena and RAM include CMSIS-NN's scratch at the arena's tail, which depends on the "
                        f"architecture ({', '.join(CMSIS_ARCHS)}; armv7emsp / armv7emdp take the DSP paths)")
    i.set_defaults(func=cmd_inspect)

    r = sub.add_parser("run", help="run a model on a target through the on-device ulab_ml API",
                       description="Run N inferences in one target process (or one session with a board on "
                                   "a serial port, the model loaded once) through ulab_ml's Model API. Exit 2 "
                                   "if the model or input is rejected, 3 if the target died or cannot be "
                                   "reached (no board on the port, no MicroPython, no native module for its "
                                   "arch).")
    r.add_argument("model", help=".tflite or .uml file")
    r.add_argument("--target", default="unix", type=target_arg, metavar="TARGET", help=TARGET_HELP)
    r.add_argument("--input", required=True, help=".npy of shape (N, *input_shape) in the input dtype")
    r.add_argument("--output", required=True, help=".npy to write, shape (N, *output_shape)")
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("verify", help="check a model on a target bit for bit against TensorFlow Lite Micro",
                       description="Run seeded random inputs (and --input ones) on the target and on "
                                   "TensorFlow Lite Micro; print a one-line verdict and the first differing "
                                   "element. Exit 0 only when bit-exact (1 if not, 2 rejected, 3 target died "
                                   "or cannot be reached).")
    v.add_argument("model", help=".tflite file (the oracle runs it)")
    v.add_argument("--target", default="unix", type=target_arg, metavar="TARGET", help=TARGET_HELP)
    v.add_argument("--input", help="extra inputs: .npy of shape (N, *input_shape) in the input dtype")
    v.add_argument("--count", type=int, default=8, help="random inputs (default: 8)")
    v.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    v.set_defaults(func=cmd_verify)

    bn = sub.add_parser("bench", help="count instructions per inference and per layer on an emulated board",
                        description="Run the model on a QEMU board under -icount and print instructions (not "
                                    "cycles) per inference (one infer() call), per layer (op, shapes, MACs, "
                                    "instructions, instructions/MAC) and for Model.load. Exact to the "
                                    "instruction and deterministic. Exit 2 if the model is rejected, 3 if the "
                                    "target died.")
    bn.add_argument("model", help=".tflite or .uml file")
    bn.add_argument("--target", default="qemu-m4", choices=("qemu-m0", "qemu-m3", "qemu-m4"),
                    help="QEMU board (default: qemu-m4)")
    bn.add_argument("--json", action="store_true", help="print one JSON object")
    bn.add_argument("--seed", type=int, default=0, help="seed of the random input (default: 0)")
    bn.add_argument("--mode", default="inplace", choices=("inplace", "ram", "stream"),
                    help="weights mode: inplace (used where they lie in the board's ROMFS image; default), "
                         "ram or stream (the model file on the board's littlefs, read into RAM at load, or "
                         "read op by op during every infer(): the streamed cost, no per-layer figures)")
    bn.set_defaults(func=cmd_bench)

    from .fit import boards_help
    f = sub.add_parser("fit", help="will a model fit a board? RAM and flash per weights mode",
                       description="Flash and RAM a model needs in each weights mode (ram, inplace, stream) "
                                   "against a board's budget, with yes / no / tight per mode; and an estimated "
                                   "latency at the board's clock: instructions per inference counted by ulab-ml "
                                   "bench on the emulated board of the same architecture (rp2040: qemu-m0, "
                                   "stm32f4 / stm32f7: qemu-m4; board.json bench_target; a few seconds), "
                                   "assuming one instruction per cycle. It is an estimate from an instruction "
                                   "count, not measured cycles (QEMU models no pipeline, wait states or memory "
                                   "latency).")
    f.add_argument("model", help=".tflite or .uml file")
    f.add_argument("--board", required=True, help=f"board name ({boards_help()})")
    f.add_argument("--instructions", type=int, metavar="N",
                   help="instructions per inference to estimate from, instead of counting them "
                        "(e.g. from an earlier ulab-ml bench)")
    f.add_argument("--no-measure", action="store_true",
                   help="do not run ulab-ml bench: no latency estimate unless --instructions is given")
    f.add_argument("--cmsis-nn", action="store_true",
                   help="the board runs the CMSIS-NN build of the native module (docs/CMSIS_NN.md): count "
                        "CMSIS-NN's scratch at the arena's tail for the board's architecture. Implied when "
                        "ULAB_ML_NATMOD_DIR names that build's directory (.cache/natmod-cmsis). The import's "
                        "heap is that build's module size (ULAB_ML_NATMOD_DIR's, or .cache/natmod-cmsis's "
                        "when ULAB_ML_NATMOD_DIR is unset)")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.set_defaults(func=cmd_fit)

    d = sub.add_parser("deploy", help="copy the ulab_ml package, native module and model to a board (mpremote)",
                       description="Copy what a MicroPython board needs to run MODEL with mpremote: "
                                   "ulab_ml/__init__.py, the native module for the arch the board reports "
                                   "(sys.implementation._mpy) and the model as NAME.uml (a .tflite is converted "
                                   "first), into the board's current directory. Files whose size and SHA-256 "
                                   "already match on the board are skipped. Exit 2 when no board answers on "
                                   "PORT or no native module fits its arch.")
    d.add_argument("model", help=".tflite or .uml file")
    d.add_argument("--port", required=True, help="the board's serial port (e.g. /dev/ttyACM0, COM3, or the "
                                                 "pty `python -m ulab_ml_host.board start` prints)")
    d.add_argument("--name", help="file name on the board (default: MODEL's name with .uml)")
    d.add_argument("--dest", default="", help="directory on the board, relative to its current one "
                                              "(default: the current directory; it must be on sys.path)")
    d.set_defaults(func=cmd_deploy)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"ulab-ml: error: {exc}", file=sys.stderr)
        return exc.code


if __name__ == "__main__":
    sys.exit(main())
