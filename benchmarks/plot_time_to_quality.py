"""Plot the time-to-quality curves that ``bench.py --ttq-cap S`` stores: metric against training seconds.

One panel per task (``cgan_acc95``: class accuracy, ``mlp_fd10``: Frechet distance on a log
scale), one line per side (the course loop with the course material's recipe, ganlib with
its improved recipe), the target as a dashed line and each side's first score that met it
as a star.

    python benchmarks/plot_time_to_quality.py                       # results.json -> images/time_to_quality.png
    python benchmarks/plot_time_to_quality.py /tmp/gpu/bench.json --out /tmp/gpu/time_to_quality.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

HERE = Path(__file__).resolve().parent
SIDES = {"baseline": ("course loop, course recipe", "tab:gray"), "ganlib": ("ganlib, improved recipe", "tab:blue")}
LABELS = {"class_accuracy": "class accuracy of conditional samples", "fd": "Frechet distance (evaluator features)"}


def plot_time_to_quality(ttq: dict, out: str | Path) -> Path:
    """Draw every task of ``results["time_to_quality"]`` that has curves into one PNG.

    Args:
        ttq: the ``time_to_quality`` dict of a results file (task -> entry with ``baseline`` / ``ganlib``).
        out: the image to write (its folder is created).

    Returns:
        The path written.
    """
    tasks = [task for task, entry in ttq.items()
             if isinstance(entry, dict) and any((entry.get(side) or {}).get("curve") for side in SIDES)]
    if not tasks:
        raise ValueError("No time-to-quality curves to plot: run `python benchmarks/bench.py --ttq-only "
                         "--ttq-cap SECONDS` first (it writes them into the results file).")
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4.2), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        entry = ttq[task]
        for side, (label, color) in SIDES.items():
            detail = entry.get(side) or {}
            curve = detail.get("curve") or []
            if not curve:
                continue
            seconds, values = zip(*curve)
            reached = entry.get(f"{side}_s")
            note = f"{reached:.0f} s" if reached is not None else f"not within {entry.get('cap_s', 0):g} s"
            ax.plot(seconds, values, marker=".", color=color, label=f"{label}: {note}")
            if reached is not None:
                ax.plot([reached], [values[seconds.index(reached)]], marker="*", markersize=14, color=color)
        ax.axhline(entry["target"], linestyle="--", color="black", linewidth=1, label=f"target {entry['target']:g}")
        if entry.get("metric") == "fd":
            ax.set_yscale("log")
        elif entry.get("metric") == "class_accuracy":
            ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel("training seconds (evaluation not counted)")
        ax.set_ylabel(LABELS.get(entry.get("metric"), entry.get("metric", "")))
        ax.set_title(f"{entry.get('title', task)}\n{entry.get('device_name', entry.get('device', ''))}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, default=HERE / "results.json")
    parser.add_argument("--out", type=Path, default=HERE.parent / "images" / "time_to_quality.png")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    path = plot_time_to_quality(results.get("time_to_quality") or {}, args.out)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
