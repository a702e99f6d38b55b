#!/usr/bin/env python3
"""Benchmark report: instructions per inference of every shared model and of single-layer
models on qemu-m4 and qemu-m0, beside the CMSIS-NN (and emlearn) anchor figures.

    .venv/bin/python scripts/bench_report.py [--models DIR] [--out docs/BENCHMARKS.md]
                                             [--chart docs/benchmarks.png]

Writes docs/BENCHMARKS.md and docs/benchmarks.png. One QEMU boot per board runs every model,
and one more boot of qemu-m0 the shared models with their weights streamed from a file (the
three in parallel); about a minute in all. Rerun it after changing kernels.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.bench (the single-layer models)

from tests.bench.layers import LAYERS, SEED, build_layers  # noqa: E402
from ulab_ml_host import bench  # noqa: E402
from ulab_ml_host.bench import BenchResult  # noqa: E402
from ulab_ml_host.cli import describe  # noqa: E402
from ulab_ml_host.convert import convert  # noqa: E402

TARGETS = ("qemu-m4", "qemu-m0")
STREAM_TARGET = "qemu-m0"   # where the streamed mode's extra cost is measured
ANCHOR_CPU = {"qemu-m4": "Cortex-M4", "qemu-m0": "Cortex-M0+"}


@dataclass(frozen=True)
class Anchor:
    """Instructions per call of the reference implementation, and our goal, per board."""

    title: str
    source: str
    ref: dict[str, int]            # target -> reference instructions
    goal: dict[str, float]         # target -> goal in instructions (None: no goal)
    strict: bool = False           # goal is "<" rather than "<="


def _layer_anchor(title: str, m4: int, m0: int, with_goal: bool) -> Anchor:
    goal = {"qemu-m4": 0.9 * m4, "qemu-m0": 0.7 * m0} if with_goal else {}
    return Anchor(title, "CMSIS-NN", {"qemu-m4": m4, "qemu-m0": m0}, goal)


# CMSIS-NN instructions per call of each layer kernel (Cortex-M4 / Cortex-M0+). Goals: M4 <=
# 0.9x and M0+ <= 0.7x for convolution, depthwise and fully connected layers.
LAYER_ANCHORS: dict[str, Anchor] = {
    "conv1x1": _layer_anchor("1x1 conv 25x5x64 -> 64", 1_069_023, 3_873_412, True),
    "conv3x3": _layer_anchor("3x3 conv 32x32x16 -> 16, pad same", 5_493_132, 17_839_202, True),
    "dw3x3": _layer_anchor("depthwise 3x3 25x5x64, pad same", 560_973, 2_572_508, True),
    "fc640x128": _layer_anchor("fully connected 640 -> 128", 160_085, 506_745, True),
    "fc128x10": _layer_anchor("fully connected 128 -> 10", 3_039, 9_200, True),
    "avgpool": _layer_anchor("average pool 25x5x64 -> 1x1x64", 50_752, 165_154, False),
    "softmax12": _layer_anchor("softmax, 12 classes", 6_439, 23_604, False),
}

# Whole models: CMSIS-NN (TFLite Micro with CMSIS-NN kernels) instructions per inference, and
# emlearn's for its MNIST CNN, with our goals.
MODEL_ANCHORS: dict[str, Anchor] = {
    "mlperf_kws_dscnn/kws_ref_model.tflite": Anchor(
        "KWS DS-CNN", "CMSIS-NN", {"qemu-m4": 7_693_567, "qemu-m0": 28_994_294},
        {"qemu-m4": 5_770_000, "qemu-m0": 14_500_000}),
    "tflm_person_detection/person_detect.tflite": Anchor(
        "person_detect", "CMSIS-NN", {"qemu-m4": 22_918_565, "qemu-m0": 83_661_362},
        {"qemu-m4": 17_200_000, "qemu-m0": 41_800_000}),
    "mlperf_vww_mobilenet/vww_96_int8.tflite": Anchor(
        "VWW MobileNet", "CMSIS-NN", {"qemu-m4": 24_092_073, "qemu-m0": 86_890_983},
        {"qemu-m4": 18_100_000, "qemu-m0": 43_400_000}),
    "mlperf_ic_resnet8/pretrainedResnet_quant.tflite": Anchor(
        "IC ResNet-8", "CMSIS-NN", {"qemu-m4": 29_856_978, "qemu-m0": 97_547_902},
        {"qemu-m4": 22_400_000, "qemu-m0": 48_800_000}),
    "emlearn_mnist_cnn/mnist_cnn_int8.tflite": Anchor(
        "emlearn MNIST CNN", "emlearn", {"qemu-m4": 354_398, "qemu-m0": 1_523_311},
        {"qemu-m4": 150_000, "qemu-m0": 450_000}, strict=True),
}


def shared_models(models: Path) -> list[tuple[str, bytes]]:
    """Every shared .tflite model ulab_ml converts (unsupported ones are skipped)."""
    out = []
    for path in sorted(models.glob("*/*.tflite")):
        try:
            blob = convert(path.read_bytes()).blob
        except Exception:  # noqa: BLE001 - the unsupported models are refused by design
            continue
        out.append((f"{path.parent.name}/{path.name}", blob))
    return out


def layer_models() -> list[tuple[str, bytes]]:
    return [(key, convert(tfl).blob) for key, tfl in build_layers().items()]


def run_all(models: list[tuple[str, bytes]],
            streamed: list[tuple[str, bytes]]) -> tuple[dict[str, dict[str, BenchResult]], dict[str, BenchResult]]:
    """(target -> model name -> result, weights in place; model name -> result on STREAM_TARGET
    with the weights streamed): one boot per board and one for the streamed run, in parallel."""
    with ThreadPoolExecutor(len(TARGETS) + 1) as pool:
        futures = {t: pool.submit(bench.bench_models, t, models) for t in TARGETS}
        stream = pool.submit(bench.bench_models, STREAM_TARGET, streamed, mode="stream")
        return ({t: {r.name: r for r in f.result()} for t, f in futures.items()},
                {r.name: r for r in stream.result()})


# --- rendering ------------------------------------------------------------------------------------

def _n(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _ratio(ours: int | None, ref: int) -> str:
    return "-" if ours is None else f"{ours / ref:.2f}x"


def _met(ours: int | None, a: Anchor, target: str) -> bool | None:
    goal = a.goal.get(target)
    if goal is None or ours is None:
        return None
    return ours < goal if a.strict else ours <= goal


def _goal_cell(ours: int | None, a: Anchor, target: str) -> str:
    goal = a.goal.get(target)
    if goal is None:
        return "-"
    met = _met(ours, a, target)
    verdict = "met" if met else "**not met**"
    return f"{'<' if a.strict else '<='} {goal:,.0f}: {verdict}"


def _layer_value(r: BenchResult) -> int | None:
    """A single-layer model's kernel instructions (no input/output copies, like a CMSIS-NN call)."""
    if r.error or not r.layers:
        return None
    return r.layers[0].kernel_instructions


def render_streamed(inplace: dict[str, BenchResult], streamed: dict[str, BenchResult], shared: list[str]) -> list[str]:
    """The streamed mode's extra cost per inference on STREAM_TARGET, beside the weights in place."""
    t = STREAM_TARGET
    lines = [
        f"## Streamed weights: the extra cost per inference ({t})",
        "",
        f"Instructions per inference on {t} with the weights in place (the figures above) and streamed: "
        "`Model.load(path, \"stream\")` on the model file in the board's littlefs filesystem, as on an "
        "RP2040's flash, so every `infer()` reads each op's weights from the file into one buffer (the "
        "file system's reads are in the count). *Bytes read* per inference is what `ulab-ml inspect` "
        "reports as `stream_bytes_per_inference` (the board reported the same); *per byte* is the difference "
        "divided by it. `ulab-ml bench MODEL --target qemu-m0 --mode stream` gives the same for any model.",
        "",
    ]
    if not shared:
        return lines + ["No shared models were found (`--models DIR`, default `../shared/models`), so there is "
                        "nothing to compare here.", ""]
    lines += [
        "| model | bytes read | buffer | in place | streamed | difference | per byte |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in shared:
        a, s = inplace[name], streamed[name]
        if s.error or s.instructions is None or a.instructions is None:
            err = (s.error or a.error or "no figure").replace("|", "/")
            lines.append(f"| `{name}` | - | - | {_n(a.instructions)} | not measured: {err} | - | - |")
            continue
        diff = s.instructions - a.instructions
        read = s.stream_bytes_per_inference or 0
        per_byte = f"{diff / read:.2f}" if read else "-"
        lines.append(f"| `{name}` | {read:,} | {s.stream_buffer_bytes:,} | {a.instructions:,} | "
                     f"{s.instructions:,} | {diff:+,} ({diff / a.instructions:+.1%}) | {per_byte} |")
    lines += ["", "Figures in instructions (not cycles), bytes read in bytes. A model whose streamed load "
              f"does not fit {t}'s heap (the tables, one weights buffer and the arena) is not measured.", ""]
    return lines


def render(res: dict[str, dict[str, BenchResult]], shared: list[str], chart: str,
           streamed: dict[str, BenchResult] | None = None) -> str:
    m4, m0 = res["qemu-m4"], res["qemu-m0"]
    any_r = next(iter(m4.values()))
    meth = {t: next(iter(res[t].values())).method for t in TARGETS}
    lines = [
        "# Benchmarks: instructions per inference (qemu-m4, qemu-m0)",
        "",
        "Generated by `.venv/bin/python scripts/bench_report.py` (one command, about a minute: one QEMU "
        "boot per board and one more of qemu-m0 with streamed weights, in parallel). Rerun it after changing "
        "kernels. All figures are "
        "**instructions** executed by the emulated CPU, not cycles: QEMU models no pipeline, wait states or "
        "memory latency. `ulab-ml bench MODEL --target qemu-m4|qemu-m0 [--json]` gives the same figures for "
        "any model.",
        "",
        "Anchors: CMSIS-NN's instructions per call of each layer kernel and per inference of each MLPerf "
        "Tiny / TFLite Micro model (TFLite Micro with CMSIS-NN kernels) on Cortex-M4 and Cortex-M0+, and "
        "emlearn's for its MNIST CNN. qemu-m0 is a Cortex-M0, the same ARMv6-M instruction set as the "
        "Cortex-M0+ (the RP2040's core), so its instruction counts compare with the M0+ anchors.",
        "",
        f"![ours / anchor per benchmark]({chart})",
        "",
        "## Goals",
        "",
    ]
    met_lines, notmet_lines = [], []
    for key, a in list(LAYER_ANCHORS.items()) + list(MODEL_ANCHORS.items()):
        for t in TARGETS:
            r = res[t].get(key)
            if r is None or not a.goal.get(t):
                continue
            ours = _layer_value(r) if key in LAYER_ANCHORS else r.instructions
            met = _met(ours, a, t)
            goal_txt = f"{'<' if a.strict else '<='} {a.goal[t]:,.0f}"
            item = (f"{a.title} on {t} ({ANCHOR_CPU[t]} anchor {a.ref[t]:,}): ours {_n(ours)} "
                    f"({_ratio(ours, a.ref[t])} of {a.source}), goal {goal_txt}")
            (met_lines if met else notmet_lines).append(item)
    lines.append(f"**{len(met_lines)} of {len(met_lines) + len(notmet_lines)} goals met** by the kernels built "
                 "into the measured native modules (reference C plus the Cortex-M4 DSP and Cortex-M0 fast paths in "
                 "natmod/kernels/). Regenerate this report after changing a kernel.")
    lines.append("")
    if met_lines:
        lines += ["Met:", ""] + [f"- {x}" for x in met_lines] + [""]
    if notmet_lines:
        lines += ["Not met:", ""] + [f"- {x}" for x in notmet_lines] + [""]

    lines += [
        "## Whole models",
        "",
        "Instructions per inference: one `Model.infer(x)` call, the weights used in place from flash "
        "(ROMFS), a seeded random int8 input. *instr/MAC* divides by the model's multiply-accumulates.",
        "",
        "| model | MACs | qemu-m4 | instr/MAC | CMSIS-NN M4 | ratio | goal (M4) | qemu-m0 | instr/MAC | "
        "CMSIS-NN M0+ | ratio | goal (M0+) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for name in shared:
        a = MODEL_ANCHORS.get(name)
        cells = [f"`{name}`", f"{m4[name].macs:,}"]
        for t in TARGETS:
            r = res[t][name]
            ipm = f"{r.instructions_per_mac:.2f}" if r.instructions_per_mac else "-"
            if r.error:
                cells += [f"error: {r.error}", "-", "-", "-", "-"]
                continue
            cells += [_n(r.instructions), ipm]
            if a:
                cells += [f"{a.ref[t]:,} ({a.source})" if a.source != "CMSIS-NN" else f"{a.ref[t]:,}",
                          _ratio(r.instructions, a.ref[t]), _goal_cell(r.instructions, a, t)]
            else:
                cells += ["-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "The emlearn MNIST CNN row compares with emlearn's own figures (its int8 CNN kernels), not "
        "CMSIS-NN's. `pretrainedResnet_quant.tflite` is the MLPerf Tiny ResNet-8 the anchor refers to; "
        "`pretrainedResnet_large_int8.tflite` has no anchor.",
        "",
        "## Single layers",
        "",
        "One-layer models in the anchors' shapes (int8, per-channel weights, seeded random weights and "
        f"quantization: `tests/bench/layers.py`, seed {SEED}). *ours* is the layer's kernel alone: the "
        "native `run_op` call for the op minus a do-nothing op's call, without copying the input into "
        "the arena or the output out (a CMSIS-NN call does neither). *infer()* is one whole "
        "`Model.infer(x)` on the one-layer model, copies and the Python call included.",
        "",
        "| layer | MACs | qemu-m4 | instr/MAC | CMSIS-NN M4 | ratio | goal (M4 <= 0.9x) | infer() m4 | "
        "qemu-m0 | instr/MAC | CMSIS-NN M0+ | ratio | goal (M0+ <= 0.7x) | infer() m0 |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for layer in LAYERS:
        a = LAYER_ANCHORS[layer.key]
        cells = [a.title, f"{m4[layer.key].macs:,}" if m4[layer.key].macs else "-"]
        for t in TARGETS:
            r = res[t][layer.key]
            ours = _layer_value(r)
            ipm = f"{ours / r.macs:.2f}" if ours and r.macs else "-"
            cells += [_n(ours), ipm, f"{a.ref[t]:,}", _ratio(ours, a.ref[t]), _goal_cell(ours, a, t),
                      _n(r.instructions)]
        lines.append("| " + " | ".join(cells) + " |")

    if streamed is not None:
        lines += [""] + render_streamed(m0, streamed, shared)[:-1]

    lines += [
        "",
        "## Built against CMSIS-NN",
        "",
        "The native module can also be built against a CMSIS-NN checkout of your own "
        "(`CMSIS_NN_DIR=... scripts/build_natmod.sh`), calling CMSIS-NN's kernels for the ops it covers, "
        "bit-exact either way. CI has no CMSIS-NN (nothing of it is in this repository or downloaded), so "
        "that build's figures are not regenerated here: `docs/CMSIS_NN.md` has the measured comparison "
        "(regenerated by `scripts/cmsis_nn_report.py` where a checkout exists). In short: it reproduces the "
        "anchors above within 10%; at the time of that measurement these kernels were faster than it on every "
        "convolution and depthwise layer and on fully connected 640 -> 128, level on 128 -> 10.",
        "",
        "## Load cost",
        "",
        "`Model.load(memoryview(file), \"inplace\")` on a model in the ROMFS image: header and table "
        "validation, the CRC-32 of the whole blob, and allocating the engine state, the arena and the "
        "output buffer. Allocation cost depends a little on the heap's state, so these figures can move "
        "by a few hundred instructions between a batch like this one and a single `ulab-ml bench` run.",
        "",
        "| model | blob bytes | qemu-m4 | qemu-m0 |",
        "|---|---:|---:|---:|",
    ]
    for name in shared:
        blob_bytes = m4[name].method.get("blob_bytes", "")
        lines.append(f"| `{name}` | {blob_bytes:,} | {_n(m4[name].load_instructions)} | "
                     f"{_n(m0[name].load_instructions)} |" if blob_bytes else
                     f"| `{name}` | - | {_n(m4[name].load_instructions)} | {_n(m0[name].load_instructions)} |")

    lines += ["", "## Per-layer breakdown", "",
              "Per op: the native `run_op` call for that op minus a do-nothing op's call (op 0 includes "
              "copying the input into the arena, the last op copying the output out, as `infer()` does). "
              "The rows add up to the total exactly: total = sum of layers + fixed cost of an `infer()` "
              "call + ops x per-op dispatch (the engine's loop and operand setup), residual 0 for every "
              "model here.", ""]
    for name in shared:
        r4, r0 = m4[name], m0[name]
        lines += [f"### `{name}`", ""]
        if r4.error or r0.error:
            lines += [f"error: {r4.error or r0.error}", ""]
            continue
        lines += [
            f"{r4.macs:,} MACs. Total per inference: qemu-m4 **{r4.instructions:,}** "
            f"(first call after load {r4.first_instructions:,}), qemu-m0 **{r0.instructions:,}** "
            f"(first call {r0.first_instructions:,}).",
            "",
            "| # | op | output | MACs | qemu-m4 | instr/MAC | qemu-m0 | instr/MAC |",
            "|---:|---|---|---:|---:|---:|---:|---:|",
        ]
        for l4, l0 in zip(r4.layers, r0.layers):
            ipm4 = f"{l4.instructions_per_mac:.2f}" if l4.instructions_per_mac is not None else "-"
            ipm0 = f"{l0.instructions_per_mac:.2f}" if l0.instructions_per_mac is not None else "-"
            lines.append(f"| {l4.index} | {l4.op} | {l4.output} | {l4.macs:,} | {l4.instructions:,} | {ipm4} | "
                         f"{l0.instructions:,} | {ipm0} |")
        lines.append(f"| | *sum of layers* | | | {r4.layers_sum:,} | | {r0.layers_sum:,} | |")
        lines.append(f"| | *infer() call + {len(r4.layers)} x dispatch* | | | "
                     f"{r4.overhead_instructions:,} | | {r0.overhead_instructions:,} | |")
        lines.append("")

    lines += ["## Method", ""]
    lines += [
        f"- QEMU 7.2 runs each board under `{' '.join(bench.icount_args())}`: every guest instruction "
        f"advances the virtual clock by exactly 2^{bench.ICOUNT_SHIFT} = {2 ** bench.ICOUNT_SHIFT} ns, whatever "
        "the host does, so counts repeat exactly from run to run.",
        "- A counter clocked from that virtual clock is read right before and right after the measured "
        "statement, by a few instructions of viper code that allocate nothing. qemu-m4 (`mps2-an386`): "
        "the MPS2 FPGAIO COUNTER at 0x40028018, 25 MHz, 6.4 ticks per instruction. qemu-m0 (`microbit`, "
        "an nRF51 without FPGAIO): TIMER0 in 32-bit timer mode with prescaler 1 (8 MHz; prescaler 0 "
        "would be 16 MHz, but QEMU's nRF51 timer model truncates its 62.5 ns tick to whole nanoseconds "
        "and drifts), read by TASKS_CAPTURE[0] then CC[0], 2.048 ticks per instruction. A slow second "
        "counter (FPGAIO CLK100HZ; TIMER1 at 31.25 kHz) counts how often the fast one wrapped around.",
        "- **Resolution: exact, error bound 0 instructions.** Two reads n instructions apart differ by "
        "n x (ticks per instruction) rounded up or down to a whole tick; with more than 2 ticks per "
        "instruction, n = round(ticks / ticks per instruction) is exact, so no phase-locking of the "
        "reads to tick edges is needed. The cost of a statement is the interval around it minus an "
        "empty measurement (the two reads with nothing between: "
        f"{meth['qemu-m4']['empty_measurement_instructions']} instructions on qemu-m4, "
        f"{meth['qemu-m0']['empty_measurement_instructions']} on qemu-m0), which runs the same code. Every "
        "boot checks this on an inline-assembler loop of known length: 1,001 iterations of 2 "
        f"instructions must measure exactly {bench.CALIBRATION_ITERATIONS * 2 - 2:,} instructions more than "
        "1 iteration (it did, on both boards). During development, loops of 0.8 billion (qemu-m4) and "
        "2.1 billion (qemu-m0) instructions measured exactly across a wrap of the fast counter.",
        "- The measured statements run with the heap locked (`micropython.heap_lock()`), so a garbage "
        "collection can't start inside one and no figure depends on the heap's state. This matters for "
        "`infer()`: MicroPython allocates the frame of a Python function with more than 11 words of "
        "locals and stack on the heap when it can (it falls back to the C stack when the heap is "
        "locked), and `Model.infer`'s frame is that large, so an unlocked call also pays a heap search "
        "that depends on fragmentation (about 450 instructions on an orderly heap, several thousand on "
        "a fragmented one). Figures here are without that search.",
        "- Per inference: the second of two `infer()` calls after load (the first call costs a few "
        "hundred instructions more: MicroPython caches attribute lookups in the bytecode). Per layer: "
        "the native `run_op(state, blob, arena, i, ...)` for op i minus the same call on an op that "
        "does nothing (a RESHAPE whose output aliases its input). The per-layer run's output is checked "
        "against `infer()`'s (CRC-32).",
        f"- Builds measured: qemu-m4 firmware {meth['qemu-m4']['firmware_sha256']}, native module "
        f"{meth['qemu-m4']['natmod_sha256']}; qemu-m0 firmware {meth['qemu-m0']['firmware_sha256']}, native "
        f"module {meth['qemu-m0']['natmod_sha256']} (sha256 prefixes). Input seed {any_r.method['input_seed']}.",
        "",
    ]
    return "\n".join(lines)


def plot(res: dict[str, dict[str, BenchResult]], path: Path) -> None:
    """Ours / anchor per benchmark (log scale), goal marked per bar, one panel per board."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [(k, a, True) for k, a in LAYER_ANCHORS.items()] + [(k, a, False) for k, a in MODEL_ANCHORS.items()]
    fig, axes = plt.subplots(2, 1, figsize=(12, 8.5), sharex=True)
    for ax, t in zip(axes, TARGETS):
        xs, ratios, goals, colors = [], [], [], []
        for i, (key, a, is_layer) in enumerate(items):
            r = res[t].get(key)
            ours = None if r is None else (_layer_value(r) if is_layer else r.instructions)
            if ours is None:
                continue
            xs.append(i)
            ratios.append(ours / a.ref[t])
            goal = a.goal.get(t)
            goals.append(goal / a.ref[t] if goal else None)
            met = _met(ours, a, t)
            colors.append("#9e9e9e" if met is None else ("#2e7d32" if met else "#c62828"))
        ax.bar(xs, ratios, color=colors, width=0.7)
        for x, ratio, g in zip(xs, ratios, goals):
            ax.text(x, ratio * 1.06, f"{ratio:.2f}x", ha="center", va="bottom", fontsize=8)
            if g:
                ax.hlines(g, x - 0.42, x + 0.42, colors="black", linewidths=2)
        ax.axhline(1.0, color="#555555", linewidth=0.8, linestyle="--")
        ax.set_yscale("log")
        ax.set_ylim(0.1, max(ratios) * 2.2)
        ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if v <= max(ratios) * 2.2]
        ax.set_yticks(ticks, [f"{v:g}x" for v in ticks])
        ax.minorticks_off()
        ax.set_ylabel("ours / anchor (instructions)")
        cpu = "Cortex-M4F" if t == "qemu-m4" else "Cortex-M0"
        ax.set_title(f"{t} ({cpu}) vs {ANCHOR_CPU[t]} anchors: green = goal met, red = not met, "
                     "grey = no goal; black bar = goal", fontsize=10)
        ax.axvline(len(LAYER_ANCHORS) - 0.5, color="#888888", linewidth=0.8)
    axes[-1].set_xticks(range(len(items)))
    axes[-1].set_xticklabels([a.title.replace(", pad same", "").replace("fully connected", "FC")
                              for _, a, _ in items], rotation=35, ha="right", fontsize=8)
    fig.suptitle("ulab_ml instructions per call / inference relative to CMSIS-NN (emlearn for MNIST); "
                 "lower is better", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=Path, default=ROOT.parent / "shared" / "models")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    p.add_argument("--chart", type=Path, default=ROOT / "docs" / "benchmarks.png")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    shared = shared_models(args.models)
    layers = layer_models()
    res, streamed = run_all(shared + layers, shared)
    for name, blob in shared:  # the board read what ulab-ml inspect says it reads
        s = streamed[name]
        want = describe(blob)["stream_bytes_per_inference"]
        if s.error is None and s.stream_bytes_per_inference != want:
            raise SystemExit(f"{name}: the board read {s.stream_bytes_per_inference} bytes per inference "
                             f"streamed, ulab-ml inspect says {want}")
    for t in TARGETS:  # blob sizes for the load table
        for name, blob in shared:
            res[t][name].method = dict(res[t][name].method, blob_bytes=len(blob))
    seconds = time.monotonic() - t0
    plot(res, args.chart)
    try:
        chart_ref = str(args.chart.resolve().relative_to(args.out.resolve().parent))
    except ValueError:
        chart_ref = str(args.chart)
    args.out.write_text(render(res, [n for n, _ in shared], chart_ref, streamed))
    print(f"{args.out}, {args.chart}: {len(shared)} models and {len(layers)} layers on "
          f"{', '.join(TARGETS)} in {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
