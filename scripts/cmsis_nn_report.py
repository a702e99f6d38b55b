#!/usr/bin/env python3
"""Instructions per inference with our kernels vs the CMSIS-NN build (docs/CMSIS_NN.md).

    CMSIS_NN_DIR=/path/to/CMSIS-NN scripts/build_natmod.sh armv6m armv7emsp
    .venv/bin/python scripts/cmsis_nn_report.py [--models DIR] [--doc docs/CMSIS_NN.md] [--json FILE]

Benchmarks the single-layer models of tests/bench/layers.py and every shared model on qemu-m4
and qemu-m0 twice, with the native modules of .cache/natmod/ (ours) and .cache/natmod-cmsis/
(the CMSIS-NN build), one QEMU boot per board and build, and rewrites the table between the
markers in the doc. Figures are instructions (QEMU -icount), not cycles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ("qemu-m4", "qemu-m0")
BUILDS = {"ours": ROOT / ".cache" / "natmod", "cmsis": ROOT / ".cache" / "natmod-cmsis"}
BEGIN, END = "<!-- cmsis-nn-table:begin -->", "<!-- cmsis-nn-table:end -->"

# Runs in a child process: the native module directory is fixed when ulab_ml_host is imported.
CHILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from tests.bench.layers import LAYERS, build_layers
from ulab_ml_host import bench
from ulab_ml_host.convert import convert
target, models_dir = sys.argv[2], Path(sys.argv[3])
models = [(k, convert(t).blob) for k, t in build_layers().items()]
for p in sorted(models_dir.glob("*/*.tflite")) if models_dir.is_dir() else []:
    try:
        models.append((f"{p.parent.name}/{p.name}", convert(p.read_bytes()).blob))
    except Exception:
        pass  # the unsupported models are refused by design
out = {}
for r in bench.bench_models(target, models):
    k = r.layers[0].kernel_instructions if r.layers and "/" not in r.name else None
    out[r.name] = {"instructions": r.instructions, "kernel": k, "error": r.error,
                   "natmod_sha256": r.method.get("natmod_sha256"), "macs": r.macs,
                   "layers": [[l.op, l.instructions] for l in r.layers]}
print(json.dumps(out))
"""


def measure(build: str, target: str, models: Path) -> dict:
    env = dict(os.environ, ULAB_ML_NATMOD_DIR=str(BUILDS[build].absolute()))
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", CHILD, str(ROOT), target, str(models)],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{build} on {target} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _n(x: int | None) -> str:
    return "-" if x is None else f"{x:,}"


def _why(error: str) -> str:
    return "does not fit the heap" if "MemoryError" in error else "error"


def _r(a: int | None, b: int | None) -> str:
    return "-" if not a or not b else f"{b / a:.2f}x"


def anchors() -> dict[str, dict[str, int]]:
    """name -> target -> the published CMSIS-NN figure (scripts/bench_report.py's anchors)."""
    try:
        sys.path.insert(0, str(ROOT / "scripts"))
        from bench_report import LAYER_ANCHORS, MODEL_ANCHORS
    except Exception:  # noqa: BLE001 - the anchors are extra information
        return {}
    return {k: dict(a.ref) for k, a in {**LAYER_ANCHORS, **MODEL_ANCHORS}.items() if a.source == "CMSIS-NN"}


def render(res: dict, titles: dict[str, str]) -> str:
    ref = anchors()

    def row(name: str, label: str, key: str) -> str:
        cells = [label]
        for t in TARGETS:
            o, c = res["ours"][t].get(name, {}), res["cmsis"][t].get(name, {})
            a, b = o.get(key), c.get(key)
            cells += [_n(a) if a is not None or not o.get("error") else _why(o["error"]),
                      _n(b) if b is not None or not c.get("error") else _why(c["error"]),
                      _r(a, b), _n(ref.get(name, {}).get(t))]
        return "| " + " | ".join(cells) + " |"

    head = ("| {} | qemu-m4 ours | qemu-m4 CMSIS-NN build | CMSIS-NN / ours | CMSIS-NN anchor (M4) | "
            "qemu-m0 ours | qemu-m0 CMSIS-NN build | CMSIS-NN / ours | CMSIS-NN anchor (M0+) |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    layers = [k for k in res["ours"][TARGETS[0]] if "/" not in k]
    models = [k for k in res["ours"][TARGETS[0]] if "/" in k]
    out = ["Single layers: the layer's kernel alone (its `run_op` call minus a do-nothing op's, without "
           "copying the input in or the output out).", "", head.format("layer")]
    out += [row(k, titles.get(k, k), "kernel") for k in layers]
    out += ["", "Whole models: one `Model.infer(x)` call, weights in place.", "", head.format("model")]
    out += [row(k, f"`{k}`", "instructions") for k in models]
    shas = {b: {t: next(iter(res[b][t].values()), {}).get("natmod_sha256") for t in TARGETS} for b in BUILDS}
    out += ["", "Native modules measured (sha256 prefixes): " + "; ".join(
        f"{b} {t} {shas[b][t]}" for b in BUILDS for t in TARGETS) + "."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=Path(os.environ.get("ULAB_ML_SHARED_MODELS",
                                                                          ROOT.parent / "shared" / "models")))
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "CMSIS_NN.md")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    ap.add_argument("--ours", type=Path, default=BUILDS["ours"], help="our build's native modules")
    ap.add_argument("--cmsis", type=Path, default=BUILDS["cmsis"], help="the CMSIS-NN build's native modules")
    ap.add_argument("--from-json", type=Path, default=None, help="render figures saved by --json, no QEMU")
    args = ap.parse_args()
    BUILDS.update(ours=args.ours, cmsis=args.cmsis)
    if args.from_json:
        res = json.loads(args.from_json.read_text())
    else:
        for d in BUILDS.values():
            for t in TARGETS:
                arch = "armv6m" if t == "qemu-m0" else "armv7emsp"
                if not (d / f"ulab_ml_{arch}.mpy").is_file():
                    raise SystemExit(f"{d}/ulab_ml_{arch}.mpy missing: build it first (see the docstring)")
        jobs = [(b, t) for b in BUILDS for t in TARGETS]
        with ThreadPoolExecutor(2) as pool:  # two QEMU boots at a time
            figures = list(pool.map(lambda j: measure(j[0], j[1], args.models), jobs))
        res = {b: {} for b in BUILDS}
        for (b, t), f in zip(jobs, figures):
            res[b][t] = f
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    sys.path.insert(0, str(ROOT))
    from tests.bench.layers import LAYERS  # noqa: E402

    table = render(res, {layer.key: layer.title for layer in LAYERS})
    doc = args.doc.read_text() if args.doc.is_file() else f"{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{args.doc} has no {BEGIN} ... {END} markers")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    args.doc.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
