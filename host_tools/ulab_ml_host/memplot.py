"""Draw a blob's memory plan: every arena tensor as a bar over the ops it is alive for
(x: op index) and the arena bytes it occupies (y: offset)."""

from __future__ import annotations

from pathlib import Path

from .blob import Blob


def lifetimes(blob: Blob) -> dict[int, tuple[int, int]]:
    """Arena tensor id -> (first op index alive, last op index alive); -1 = model input."""
    n = len(blob.ops)
    life: dict[int, list[int]] = {}

    def touch(t: int, i: int) -> None:
        lo_hi = life.setdefault(t, [i, i])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], i), max(lo_hi[1], i)

    for t in blob.inputs:
        touch(t, -1)
    for i, op in enumerate(blob.ops):
        for t in op.inputs:
            if t is not None and blob.tensors[t].storage == "arena":
                touch(t, i)
        touch(op.output, i)
    for t in blob.outputs:
        touch(t, n)
    return {t: (v[0], v[1]) for t, v in life.items()}


def plot_memory(blob: Blob, path: Path, title: str = "") -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    life = lifetimes(blob)
    cmap = plt.get_cmap("tab20")
    for k, (t, (first, last)) in enumerate(sorted(life.items())):
        tt = blob.tensors[t]
        ax.add_patch(plt.Rectangle((first - 0.45, tt.offset), last - first + 0.9, tt.nbytes,
                                   facecolor=cmap(k % 20), edgecolor="black", linewidth=0.5, alpha=0.85))
        if tt.nbytes > blob.arena_size * 0.06:
            ax.text((first + last) / 2, tt.offset + tt.nbytes / 2, "x".join(map(str, tt.shape)),
                    ha="center", va="center", fontsize=7)
    for i, op in enumerate(blob.ops):
        s0, sz = op.scratch
        if sz:
            ax.add_patch(plt.Rectangle((i - 0.45, s0), 0.9, sz, facecolor="none", edgecolor="red", hatch="//"))
    ax.axhline(blob.arena_size, color="red", linestyle="--", linewidth=1)
    ax.text(len(blob.ops) - 0.5, blob.arena_size, f" arena {blob.arena_size} bytes", va="bottom", ha="right",
            color="red", fontsize=8)
    ax.set_xlim(-1.5, len(blob.ops) + 0.5)
    ax.set_ylim(0, blob.arena_size * 1.08 + 1)
    ax.set_xticks(range(len(blob.ops)))
    ax.set_xticklabels([f"{i} {op.opcode}" for i, op in enumerate(blob.ops)], rotation=75, fontsize=7)
    ax.set_ylabel("arena offset (bytes)")
    ax.set_title(title or "ulab_ml memory plan (bars: activation tensors alive over ops)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
