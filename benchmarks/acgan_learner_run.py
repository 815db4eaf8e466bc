"""Notebook 04's own ACGAN run (Part 2), the notebook's exact code path, scored by step for several seeds.

``acgan_levers.py`` compares levers after three untimed warm-up steps, so its "seed 0" is not the
notebook's seed 0; this probe builds, trains and scores exactly as notebook 04 does (the
notebook's defaults unless an option says otherwise), so its seed-0 figure is the notebook's
figure on this machine (up to bfloat16 rounding, which differs with the thread count).
Quality per step does not depend on the machine's load; ``acgan_levers.py --mode speed`` turns
steps into time (the notebook trains for 6 minutes, about 2,600 steps on 2 idle cores).

    python benchmarks/acgan_learner_run.py --seeds 0,1 --marks 1300,2600 --d-fake-class-weight 0
"""

from __future__ import annotations

import argparse
import functools
import json

import torch
from probe_log import append_record

from ganlib.acgan_training import ACGANScorer, acgan_step, calibrated_sampler, make_acgan
from ganlib.data import TensorBatches
from ganlib.data.cifar10 import load_cifar10
from ganlib.metrics import load_evaluator
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.train import fit
from ganlib.utils import seed_everything


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0", help="comma-separated seeds (the notebook's `seed`)")
    p.add_argument("--marks", default="1300,2600", help="steps at which to score")
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--ema", type=float, default=0.99)
    p.add_argument("--gp-every", type=int, default=4)
    p.add_argument("--g-class-weight", type=float, default=1.0)
    p.add_argument("--d-fake-class-weight", type=float, default=1.0)
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/acgan_learner_runs.json")
    return p.parse_args(argv)


def run(args: argparse.Namespace, seed: int, x: torch.Tensor, y: torch.Tensor, real: torch.Tensor) -> list[dict]:
    """Train one seed as notebook 04 does; the scores at each mark (the notebook's scorer: noise seed = seed)."""
    score = ACGANScorer(load_evaluator("cifar10", "cpu"), real, args.eval_samples, seed=seed)
    step = functools.partial(acgan_step, flip=True, gp_every=args.gp_every, g_class_weight=args.g_class_weight,
                             d_fake_class_weight=args.d_fake_class_weight, autocast_dtype=torch.bfloat16)
    seed_everything(seed)
    gan = make_acgan(ACGANGenerator(width=args.width), ACGANCritic(width=args.width), lr=args.lr,
                     ema_decay=args.ema, seed=seed)
    batches = TensorBatches(x, y, batch_size=args.batch_size, seed=seed)
    points = []
    for mark in sorted(int(m) for m in args.marks.split(",")):
        fit(gan, batches, mark, step_fn=step, log_every=50, progress=False)
        points.append({"steps": gan.step, "train_s": round(gan.seconds, 1), **score(calibrated_sampler(gan))})
        print(seed, json.dumps(points[-1]), flush=True)
    return points


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    x, y = load_cifar10(train=True)
    real, _ = load_cifar10(train=False, scale="unit", limit=args.eval_samples)
    settings = {k: v for k, v in vars(args).items() if k not in ("seeds", "marks", "out", "threads")}
    rows = [{"seed": int(s), **settings, "evals": run(args, int(s), x, y, real)} for s in args.seeds.split(",")]
    append_record(args.out, probe="acgan_learner_run", rows=rows)
    return rows


if __name__ == "__main__":
    main()
