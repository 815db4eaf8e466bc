"""Notebook 04's own ACGAN run on several seeds: class accuracy and variety at the end of its time budget.

Trains ``COURSE_ACGAN`` exactly as notebook 04 does with its default parameters (ganlib's width-32
networks, which the notebook checks equal to the learner's classes; lazy penalty, EMA 0.99, the class
head on real images, the mode-seeking term, bfloat16 autocast where the CPU computes it natively;
``own_gan_minutes`` of training, all 50,000 images) and scores the recalibrated averaged generator as
the notebook's last cell does: class accuracy, FD, precision, recall, density and coverage of 2,000
samples against 2,000 class-balanced test images, noise seeded by the run's seed. With ``--grids DIR``
it also saves each seed's 10x10 grid (one class per column, the notebook's fixed noise) as
``DIR/seed_<N>.png``, to see the variety within a column.

Run it on an idle machine with the notebook's thread count (torch's default), one seed after the other:

    python benchmarks/acgan_learner_seeds.py --seeds 1,2 --minutes 5
    python benchmarks/acgan_learner_seeds.py --seeds 0 --mode-seeking 0    # the run without the term
"""

from __future__ import annotations

import argparse
import functools
import time
from pathlib import Path

import torch
from probe_log import append_record
from torchvision.utils import save_image

from ganlib.acgan_training import LabelledGenerator, calibrated_sampler, fixed_grid_noise
from ganlib.data import TensorBatches, to_unit_range
from ganlib.data.cifar10 import load_cifar10
from ganlib.metrics import evaluate_generator, features, load_evaluator
from ganlib.runs import COURSE_ACGAN
from ganlib.sampling import sample
from ganlib.train import fit
from ganlib.utils import fast_autocast_dtype


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (the notebook's `seed`)")
    p.add_argument("--minutes", type=float, default=COURSE_ACGAN.minutes, help="training minutes per seed")
    p.add_argument("--mode-seeking", type=float, default=COURSE_ACGAN.step.keywords["mode_seeking"])
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    p.add_argument("--grids", default=None, help="folder for each seed's 10x10 grid (seed_<N>.png)")
    return p.parse_args(argv)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    x, y = load_cifar10(train=True)
    real, _ = load_cifar10(train=False, scale="unit", limit=args.eval_samples)
    evaluator = load_evaluator("cifar10", "cpu")
    real_features = features(evaluator, real)
    step = functools.partial(COURSE_ACGAN.step, mode_seeking=args.mode_seeking,
                             autocast_dtype=fast_autocast_dtype(torch.device("cpu")))
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        gan = COURSE_ACGAN.build("cpu", seed=seed)
        started = time.process_time()
        fit(gan, TensorBatches(x, y, batch_size=COURSE_ACGAN.batch_size, seed=seed), 10**9, step_fn=step,
            time_budget=60 * args.minutes, log_every=50, progress=False)
        cpu_s = time.process_time() - started
        G = calibrated_sampler(gan)
        if args.grids:
            Path(args.grids).mkdir(parents=True, exist_ok=True)
            z_grid, _ = fixed_grid_noise(rows=10, z_dim=gan.z_dim, seed=seed)
            save_image(to_unit_range(sample(G, z_grid), "tanh"), Path(args.grids) / f"seed_{seed}.png", nrow=10)
        scores = evaluate_generator(LabelledGenerator(G), evaluator, real, scale="tanh",
                                    num_classes=10, num_samples=args.eval_samples,
                                    generator=torch.Generator().manual_seed(seed), real_features=real_features,
                                    with_density_coverage=True)
        row = {"seed": seed, "minutes": args.minutes, "mode_seeking": args.mode_seeking, "steps": gan.step,
               "train_s": round(gan.seconds, 1), "cpu_s": round(cpu_s, 1),
               **{k: round(float(v), 4) for k, v in scores.items()}}
        print(row, flush=True)
        rows.append(row)
        append_record(args.out, probe="acgan_learner_seeds", rows=[row])
    return rows


if __name__ == "__main__":
    main()
