"""Measure the CPU levers of the CIFAR-10 ACGAN + WGAN-GP step: speed, and quality per CPU minute.

Each named configuration is one set of options of :func:`ganlib.acgan_training.acgan_step`
and of the networks' widths. ``--mode speed`` times steps (after a warm-up) and reports
images per second; ``--mode quality`` trains each configuration for the minutes of ``--eval-at``
(training time) from the same seed and reports the CIFAR-10 evaluator's class accuracy and
Frechet distance of conditional samples, so levers are compared at equal CPU time.
Run it on an idle machine: every figure is a wall-clock measurement. ``--eval-at-steps``
evaluates after step counts instead: quality per step does not depend on the machine's load,
so configurations of equal speed (the same widths) can be compared on a busy CPU too, and
the idle speed of ``--mode speed`` turns steps into CPU time.

    python benchmarks/acgan_levers.py --mode speed --configs w196,w196_bf16,w96,w96_bf16
    python benchmarks/acgan_levers.py --mode quality --eval-at 3,6,12 --configs w96_bf16,w96_bf16_gp4
    python benchmarks/acgan_levers.py --mode quality --eval-at-steps 459,918 --configs w64_bf16_gp4,w64_bf16_gp4_ema
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import torch
from probe_log import append_record

from ganlib.acgan_training import ACGANScorer, acgan_step, calibrated_sampler, make_acgan
from ganlib.checkpoints import load_checkpoint
from ganlib.data import TensorBatches
from ganlib.data.cifar10 import load_cifar10
from ganlib.metrics import load_evaluator
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.pretrained import load_pretrained
from ganlib.train import decayed_lr, set_lr
from ganlib.utils import count_parameters, seed_everything

BF16 = torch.bfloat16
# name -> generator width, critic width, step options, critic start, batch size, lr, EMA
CONFIGS = {
    "w196": dict(g=196, d=196),
    "w196_bf16": dict(g=196, d=196, autocast_dtype=BF16),
    "w128_bf16": dict(g=128, d=128, autocast_dtype=BF16),
    "w96": dict(g=96, d=96),
    "w96_bf16": dict(g=96, d=96, autocast_dtype=BF16),
    "w96_bf16_gp4": dict(g=96, d=96, autocast_dtype=BF16, gp_every=4),
    "w64_bf16": dict(g=64, d=64, autocast_dtype=BF16),
    "w64_bf16_gp4": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4),
    "w96_bf16_bs32": dict(g=96, d=96, autocast_dtype=BF16, batch_size=32),
    "w96_bf16_ema": dict(g=96, d=96, autocast_dtype=BF16, ema=0.999),
    "w96_bf16_lr2e-4": dict(g=96, d=96, autocast_dtype=BF16, lr=2e-4),
    "taper_bf16": dict(g=(128, 128, 96, 48), d=(128, 128, 96, 48), autocast_dtype=BF16),
    "taper_bf16_gp4": dict(g=(128, 128, 96, 48), d=(128, 128, 96, 48), autocast_dtype=BF16, gp_every=4),
    "d196init_gtaper_bf16_gp4": dict(g=(128, 128, 96, 48), d=196, autocast_dtype=BF16, gp_every=4, init=True),
    "d196_gtaper_bf16_gp4": dict(g=(128, 128, 96, 48), d=196, autocast_dtype=BF16, gp_every=4),
    # Notebook 04's own 5-minute run (width 64): learning rate, EMA, and the critic started from
    # the learner's own width-64 classifier of Part 1 (--init-critic: that run's checkpoint).
    "w64_bf16_gp4_lr3e-4": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, lr=3e-4),
    "w64_bf16_gp4_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, ema=0.99),
    "w64_bf16_gp4_lr3e-4_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99),
    "w64init_bf16_gp4": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, init=True),
    "w64init_bf16_gp4_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, ema=0.99, init=True),
    "w64init_bf16_gp4_lr3e-4_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99, init=True),
    "w64_bf16_gp4_nc2_lr3e-4_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, n_critic=2, lr=3e-4, ema=0.99),
    "w64_bf16_gp4_lr1e-3_ema": dict(g=64, d=64, autocast_dtype=BF16, gp_every=4, lr=1e-3, ema=0.99),
    "w32_bf16_gp4_lr3e-4_ema": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99),
    "w32_bf16_gp4_lr1e-3_ema": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=1e-3, ema=0.99),
    "w48_bf16_gp4_lr3e-4_ema": dict(g=48, d=48, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99),
    "w32_bf16_gp4_lr3e-4_ema_bs32": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99, batch_size=32),
    "w32_bf16_gp4_lr5e-4_ema": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=5e-4, ema=0.99),
    "w32_bf16_gp4_lr3e-4_ema995": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.995),
    # Adam's rate falling linearly to 0 over the second half of the run (needs --eval-at-steps).
    "w32_bf16_gp4_lr3e-4_ema_decay": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99,
                                          lr_decay_from=0.5),
    "w32_bf16_gp4_lr5e-4_ema_decay": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=5e-4, ema=0.99,
                                          lr_decay_from=0.5),
    # Two time-scales: the critic learns at twice the generator's rate (its class head first).
    "w32_bf16_gp4_lr3e-4_lrd6e-4_ema": dict(g=32, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, lr_d=6e-4,
                                            ema=0.99),
    # Cheaper steps, so more of them in the learner's 6 minutes: a lazier penalty, a wider generator only.
    "w32_bf16_gp8_lr3e-4_ema": dict(g=32, d=32, autocast_dtype=BF16, gp_every=8, lr=3e-4, ema=0.99),
    "g48d32_bf16_gp4_lr3e-4_ema": dict(g=48, d=32, autocast_dtype=BF16, gp_every=4, lr=3e-4, ema=0.99),
}
STEP_OPTIONS = ("autocast_dtype", "gp_every", "n_critic")


def classifier_state(source: str | None) -> dict:
    """A critic-classifier's weights: the shipped 196-channel one, or a classifier run's checkpoint."""
    if source is None:
        return load_pretrained("cifar10_critic_classifier", device="cpu").state_dict()
    state = load_checkpoint(source)
    return state["run"]["model"] if "run" in state else state


def build(name: str, x: torch.Tensor, y: torch.Tensor, seed: int = 0, init_source: str | None = None,
          total_steps: int | None = None):
    """The GAN, its batches and its step function for configuration ``name``.

    ``total_steps``: the run's length, which a configuration with ``lr_decay_from`` decays over.
    """
    config = CONFIGS[name]
    seed_everything(seed)
    G, D = ACGANGenerator(width=config["g"]), ACGANCritic(width=config["d"])
    if config.get("init"):
        D.load_state_dict(classifier_state(init_source))
    gan = make_acgan(G, D, lr=config.get("lr", 1e-4), lr_d=config.get("lr_d"), ema_decay=config.get("ema"),
                     seed=seed)
    batches = TensorBatches(x, y, batch_size=config.get("batch_size", 64), seed=seed)
    step = functools.partial(acgan_step, flip=True, **{k: config[k] for k in STEP_OPTIONS if k in config})
    if "lr_decay_from" in config:
        if total_steps is None:
            raise SystemExit(f"{name} decays its rate over the run: give its length with --eval-at-steps")
        step = with_lr_decay(step, config.get("lr", 1e-4), config["lr_decay_from"], total_steps)
    return gan, batches, step


def with_lr_decay(step, lr: float, decay_from: float, total_steps: int):
    """``step`` that first sets Adam's rate for the GAN's step count (``ganlib.train.decayed_lr``)."""
    def decayed_step(gan, x, y):
        set_lr(gan, decayed_lr(lr, gan.step / total_steps, decay_from))
        return step(gan, x, y)
    return decayed_step


def train_until(gan, batches, step, *, seconds: float = float("inf"), steps: int | None = None) -> tuple[int, float]:
    """Train until ``seconds`` have passed or ``steps`` steps are done; returns (steps, seconds spent)."""
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds and (steps is None or done < steps):
        step(gan, *next(batches))
        gan.step += 1
        done += 1
    return done, time.perf_counter() - start


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("speed", "quality"), default="speed")
    p.add_argument("--configs", default="w196,w196_bf16,w96,w96_bf16")
    p.add_argument("--seconds", type=float, default=40.0, help="timed seconds per configuration (speed)")
    p.add_argument("--eval-at", default="3,6,12", help="training minutes at which to evaluate (quality)")
    p.add_argument("--eval-at-steps", default=None,
                   help="step counts at which to evaluate instead of --eval-at (quality on a busy CPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--calibrate", action="store_true",
                   help="judge an EMA generator with recalibrated BatchNorm statistics (as notebook 04 does)")
    p.add_argument("--batch-stats-too", action="store_true",
                   help="also score class accuracy with BatchNorm batch statistics (a diagnostic)")
    p.add_argument("--init-critic", default=None, help="classifier checkpoint for the 'init' configurations "
                   "(default: the shipped cifar10_critic_classifier)")
    p.add_argument("--seed", type=int, default=0, help="seed of the networks, the noise and the batch order")
    p.add_argument("--out", default="benchmarks/acgan_levers.json")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = load_cifar10(train=True)
    score = None
    if args.mode == "quality":
        real, _ = load_cifar10(train=False, scale="unit", limit=args.eval_samples)
        score = ACGANScorer(load_evaluator("cifar10", "cpu"), real, args.eval_samples)
    results = []
    total = int(max(float(v) for v in args.eval_at_steps.split(","))) if args.eval_at_steps else None
    for name in args.configs.split(","):
        gan, batches, step = build(name, x, y, seed=args.seed, init_source=args.init_critic, total_steps=total)
        batch = batches.batch_size
        for _ in range(3):  # warm-up: lazy initialisation, first EMA copy, allocator
            step(gan, *next(batches))
        cpu0 = time.process_time()
        row = {"config": name, "seed": args.seed, **{k: str(v) for k, v in CONFIGS[name].items()},
               "params_g": count_parameters(gan.G), "params_d": count_parameters(gan.D)}
        if args.mode == "speed":
            steps, seconds = train_until(gan, batches, step, seconds=args.seconds)
        else:  # train in stretches up to each evaluation point; evaluation time is not counted
            steps, seconds, row["evals"] = 0, 0.0, []
            by_steps = args.eval_at_steps is not None
            points = sorted(float(v) for v in (args.eval_at_steps if by_steps else args.eval_at).split(","))
            row["threads"] = torch.get_num_threads()
            for point in points:
                more, spent = (train_until(gan, batches, step, steps=int(point) - steps) if by_steps
                               else train_until(gan, batches, step, seconds=60 * point - seconds))
                steps, seconds = steps + more, seconds + spent
                judged = calibrated_sampler(gan) if args.calibrate else gan.sampler
                row["evals"].append({"train_s": round(seconds, 1), "steps": steps, **score(judged)})
                if args.batch_stats_too:  # is an early generator only bad with BatchNorm's running statistics?
                    batch_stats = score(judged, use_batch_stats=True)
                    row["evals"][-1]["class_accuracy_batch_stats"] = batch_stats["class_accuracy"]
                print(name, json.dumps(row["evals"][-1]), flush=True)
        row |= {"steps": steps, "seconds": round(seconds, 1), "cpu_s": round(time.process_time() - cpu0, 1),
                "images_per_s": round(steps * batch / seconds, 1)}
        print(json.dumps(row), flush=True)
        results.append(row)
    append_record(args.out, mode=args.mode, results=results)
    return results


if __name__ == "__main__":
    main()
