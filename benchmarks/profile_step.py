"""Where a training step's time goes: ``torch.profiler`` over a few steps of each side of bench.py's loops.

Builds the same two sides as ``bench.py`` (the course loop and ganlib's, same networks, losses and
batch size), runs ``--warmup`` steps, then profiles ``--steps`` more and writes each side's table of
operators, heaviest first (device time on a GPU, CPU time on a CPU), to ``--out`` (default
``benchmarks/profile.txt``; the suffix becomes ``.txt``). Where
a speed-up falls short of its goal, the table says whether the time is in the convolutions, the
optimizer, the data pipeline or in waiting for the host.

    python benchmarks/profile_step.py --device cuda --only acgan --steps 10 --out profile.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

import bench
import torch
from torch.profiler import ProfilerActivity, profile

from ganlib.utils import get_device


def main(argv: list[str] | None = None) -> None:
    args = bench.parse_args(argv)
    if not any(arg.startswith("--out") for arg in argv or []):
        args.out = Path(__file__).resolve().parent / "profile.txt"  # not bench.py's results.json
    device = get_device(args.device)
    steps, warmup = args.steps or 10, args.warmup if args.warmup is not None else 10
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sort_by = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    out = args.out.with_suffix(".txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"torch {torch.__version__}, device {device}, batch {args.batch_size}, "
                   f"{warmup} warm-up steps, {steps} profiled steps per side\n")
    for name in args.only:
        baseline, ganlib_run = bench.BUILDERS[name](args, device)[:2]
        for side, run in (("baseline (course loop)", baseline), ("ganlib", ganlib_run)):
            run(warmup)
            bench.sync(device)
            with profile(activities=activities) as prof:
                run(steps)
                bench.sync(device)
            table = prof.key_averages().table(sort_by=sort_by, row_limit=20)
            with out.open("a") as f:  # one side at a time: a run stopped early keeps the ones before
                f.write(f"\n=== {bench.TITLES[name]}: {side} ===\n{table}\n")
            print(f"{name}: {side} profiled -> {out}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
