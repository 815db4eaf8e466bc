"""Probe the DCGAN's early stall (notebook 02's own run): how it is scored, and where the generator starts.

Every recipe of the learner's DCGAN spends its first 1,500-2,500 steps at FD above 100 before
the samples turn into digits (``benchmarks/README.md``). Two questions, scored by step
(quality per step does not depend on the machine's load):

- ``--score-modes``: is the stall an artefact of how the samples are drawn? Each point scores the
  averaged generator in eval mode, the same with its BatchNorm statistics measured again, with
  batch statistics, and the raw generator in eval mode and with batch statistics.
- ``--start mean``: the generator's last layer starts with the bias ``atanh(mean pixel)``, so its
  first images are the average grey of MNIST (mostly dark background) instead of mid-grey
  (``--start default``).
- the discriminator: ``--d-bn`` (where it has BatchNorm), ``--mbstd`` (a minibatch
  standard-deviation channel before its last layer), ``--d-hidden-dim``; and the optimiser
  (``--lr``, ``--lr-d``, ``--betas``).

    python benchmarks/dcgan_stall_probe.py --start mean --seed 0 --r1-gamma 1 --hidden-dim 32
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json

import torch
from probe_log import append_record

from ganlib.data import TensorBatches
from ganlib.data.mnist import load_mnist
from ganlib.learner_runs import build_networks
from ganlib.metrics import evaluate_generator, features, load_evaluator
from ganlib.recipes import FAST_DCGAN, make_gan_from_recipe
from ganlib.sampling import recalibrate_batchnorm
from ganlib.train import fit


def start_at_mean(G: torch.nn.Module, images: torch.Tensor) -> None:
    """Set the bias of ``G``'s last transposed convolution so that tanh of it is the mean pixel of ``images``."""
    last = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)][-1]
    with torch.no_grad():
        last.bias.fill_(torch.atanh(images.mean().clamp(-0.99, 0.99)).item())


class MinibatchStd(torch.nn.Module):
    """Appends one channel: the features' standard deviation over the batch, averaged (ProGAN).

    A generator that draws the same digit for every noise gives a batch with a small spread,
    which the discriminator can then see directly. ``(n, C, H, W)`` -> ``(n, C + 1, H, W)``.
    """

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        spread = h.std(dim=0).mean().expand(h.shape[0], 1, *h.shape[2:])
        return torch.cat([h, spread], dim=1)


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--start", choices=("default", "mean"), default="default")
    p.add_argument("--score-modes", action="store_true", help="score five ways at each point (slower)")
    p.add_argument("--d-bn", choices=("all", "no-input", "none", "layer"), default="all",
                   help="BatchNorm in the discriminator: after both convolutions (the course's), not after the "
                        "first (as in the DCGAN paper), none, or per-image layer norms (GroupNorm(1, C)) instead")
    p.add_argument("--mbstd", action="store_true", help="minibatch standard deviation before the last layer of D")
    p.add_argument("--r1-gamma", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=FAST_DCGAN.lr, help="the generator's Adam learning rate")
    p.add_argument("--lr-d", type=float, default=FAST_DCGAN.lr_d, help="the discriminator's")
    p.add_argument("--betas", default="{},{}".format(*FAST_DCGAN.betas), help="Adam's beta1,beta2")
    p.add_argument("--batch-size", type=int, default=FAST_DCGAN.batch_size)
    p.add_argument("--ema", type=float, default=FAST_DCGAN.ema_decay, help="EMA decay of the generator")
    p.add_argument("--hidden-dim", type=int, default=32)
    p.add_argument("--d-hidden-dim", type=int, default=None, help="the discriminator's width (default: --hidden-dim)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--at-steps", default="250,500,1000,1500,2000")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/learner_recipes.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = dataclasses.replace(FAST_DCGAN, r1_gamma=args.r1_gamma, lr=args.lr, lr_d=args.lr_d,
                                 betas=tuple(float(b) for b in args.betas.split(",")), batch_size=args.batch_size,
                                 ema_decay=args.ema)
    evaluator = load_evaluator("mnist", "cpu")
    x_test, _ = load_mnist(train=False, scale="unit")
    real = features(evaluator, x_test)
    x, y = load_mnist(train=True, scale="tanh")
    d_norm = "layer" if args.d_bn == "layer" else None  # ganlib's DCGANDiscriminator(norm="layer")
    G, D = build_networks("dcgan_mnist", seed=args.seed, hidden_dim=args.hidden_dim, d_norm=d_norm)
    if args.d_hidden_dim:
        _, D = build_networks("dcgan_mnist", seed=args.seed, hidden_dim=args.d_hidden_dim, d_norm=d_norm)
    if args.start == "mean":
        start_at_mean(G, x)
    if args.mbstd:
        last = D.net[2]
        D.net[2] = torch.nn.Sequential(MinibatchStd(), torch.nn.Conv2d(last.in_channels + 1, 1, 4, 2))
    for block in {"all": [], "no-input": [0], "none": [0, 1], "layer": []}[args.d_bn]:
        D.net[block][1] = torch.nn.Identity()  # down_block: Conv2d, BatchNorm2d, LeakyReLU
    gan = make_gan_from_recipe(G, D, recipe, z_dim=G.z_dim, seed=args.seed)
    marks = sorted(int(s) for s in args.at_steps.split(","))
    curve = []

    def score(model: torch.nn.Module, **options) -> dict:
        s = evaluate_generator(model, evaluator, x_test, scale="tanh", num_samples=args.samples,
                               generator=torch.Generator().manual_seed(0), real_features=real, **options)
        return {k: round(s[k], 4) for k in ("fd", "precision", "recall")}

    def on_log(g) -> None:
        while marks and g.step >= marks[0]:
            marks.pop(0)
            point = {"step": g.step, "train_s": round(g.seconds, 1), **score(g.sampler)}
            if args.score_modes:
                point["ema_recalibrated"] = score(recalibrate_batchnorm(copy.deepcopy(g.sampler), g.z_dim))
                point["ema_batch_stats"] = score(g.sampler, use_batch_stats=True)
                point["raw_eval"] = score(g.G)
                point["raw_batch_stats"] = score(g.G, use_batch_stats=True)
            curve.append(point)
            print(json.dumps(point), flush=True)

    fit(gan, TensorBatches(x, y, batch_size=recipe.batch_size, seed=args.seed), marks[-1], log_every=25,
        on_log=on_log, progress=False)
    row = {"model": "dcgan_mnist", "probe": "dcgan_stall_probe", "start": args.start, "seed": args.seed,
           "d_bn": args.d_bn, "mbstd": args.mbstd, "settings": dataclasses.asdict(recipe),
           "hidden_dim": args.hidden_dim, "d_hidden_dim": args.d_hidden_dim, "curve": curve}
    append_record(args.out, rows=[row])
    return [row]


if __name__ == "__main__":
    main()
