"""What ganlib.live.LivePlot costs a training run: the same MLP GAN run on MNIST with and without it.

    GANLIB_DATA=/work/shared/data nice python benchmarks/live_plot_overhead.py --steps 1000

Runs alternate (none, live, none, live, ...) so that a change in the machine's load hits both
alike. Each run: notebook 01's MLP pair (z_dim 64), Adam 2e-4, batch 128, the same seed and
steps, ``log_every`` 100 as in the notebook; the live plot shows 32 fixed-noise samples and the
losses. Outside a kernel there is no display to update, so the picture is drawn and encoded as
in a notebook and handed to a stand-in display handle (only the kernel's send is left out).
Prints one line per run and the median overhead; ``--json`` writes them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import ganlib.live as live_module
from ganlib.data import TensorBatches, load_mnist
from ganlib.live import LivePlot
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.noise import sample_z
from ganlib.train import fit, make_gan


class _SinkHandle:
    """A display handle that takes the updates a kernel would send and drops them."""

    def update(self, bundle: dict, raw: bool = False) -> None:
        self.last = bundle


def one_run(x: torch.Tensor, y: torch.Tensor, steps: int, log_every: int, live: bool) -> dict:
    """Train ``steps`` steps from the same start; wall seconds of ``fit`` and the plot's own cost."""
    torch.manual_seed(0)
    gan = make_gan(MLPGenerator(z_dim=64), MLPDiscriminator(), z_dim=64, lr=2e-4, betas=(0.5, 0.999), seed=0)
    batches = TensorBatches(x, y, batch_size=128, seed=0)
    plot = None
    if live:
        fixed_z = sample_z(32, 64, generator=torch.Generator().manual_seed(0))
        plot = LivePlot(fixed_z, scale="unit", nrow=16, title="MLP GAN")
    started = time.perf_counter()
    fit(gan, batches, steps, log_every=log_every, on_log=plot, progress=False)
    if plot is not None:
        plot.close()
    wall = time.perf_counter() - started
    return {"live": live, "wall_s": wall, "train_s": gan.seconds,
            "draws": plot.draws if plot else 0, "draw_s": plot.draw_seconds if plot else 0.0,
            "logs": steps // log_every}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each kind")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: the other core busy, as on a shared 2-core machine)")
    parser.add_argument("--json", type=Path, help="write the runs here")
    args = parser.parse_args()
    live_module._display = lambda bundle: _SinkHandle()  # draw and encode as in a notebook
    torch.set_num_threads(args.threads)
    x, y = load_mnist(train=True, scale="unit")
    print(f"MNIST loaded: {tuple(x.shape)}; {args.steps} steps per run, a log every {args.log_every}, "
          f"{args.threads} torch thread(s)", flush=True)
    runs = []
    for _ in range(args.repeats):
        for live in (False, True):
            run = one_run(x, y, args.steps, args.log_every, live)
            runs.append(run)
            print(f"{'live' if live else 'none'}: {run['wall_s']:.1f} s wall, {run['draws']} draws "
                  f"in {run['draw_s']:.2f} s", flush=True)
    none = statistics.median(r["wall_s"] for r in runs if not r["live"])
    live = statistics.median(r["wall_s"] for r in runs if r["live"])
    share = statistics.median(r["draw_s"] / r["wall_s"] for r in runs if r["live"])
    print(f"median wall: {none:.1f} s without, {live:.1f} s with the live plot ({100 * (live / none - 1):+.1f} %); "
          f"drawing took {100 * share:.1f} % of the live runs")
    if args.json:
        args.json.write_text(json.dumps({"steps": args.steps, "log_every": args.log_every, "threads": args.threads,
                                           "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
