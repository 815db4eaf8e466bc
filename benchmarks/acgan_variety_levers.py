"""Levers against the ACGAN's lack of variety (recall), measured on notebook 04's own short run.

Each configuration trains notebook 04's learner ACGAN (width 32, batch 64, Adam 3e-4 with
betas (0.0, 0.9), lazy gradient penalty every 4th step, EMA 0.99, the critic's class head on
real images only, bfloat16 autocast) with one lever added, and is scored at fixed steps by the
course's CIFAR-10 evaluator (class accuracy, FD, precision, recall on 2,000 samples), with the
process's CPU-seconds at each mark so that levers compare at equal steps and equal CPU time.

Levers (all add to the course's loss; none replaces it):
- ``diffaug``: differentiable augmentation (Zhao et al. 2020): every image the critic sees,
  real or fake, in the critic's and the generator's step, is translated, cut out and
  colour-jittered by the same random kind of transform, so the critic cannot memorise the
  few thousand real images a short run shows it.
- ``tac``: a twin auxiliary classifier (Gong et al. 2019, TAC-GAN): a second class head on
  the critic's features learns the classes of *fake* images; the generator minimises the
  main head's class loss minus the twin's, which cancels the pull towards images far from
  the class boundaries.
- ``g_class_weight``: a weaker generator class loss.
- ``mode_seeking``: the mode-seeking term (Mao et al. 2019, MSGAN): the generator's batch is
  two halves with the same classes and different noise, and the generator also minimises
  ``weight / (|G(z1) - G(z2)| / |z1 - z2|)``, so two noises of one class must give two images.

Scores: class accuracy, FD, precision, recall, density and coverage (Naeem et al. 2020; coverage
still moves while recall sits at zero).

    python benchmarks/acgan_variety_levers.py --configs base,diffaug,tac --seeds 0 --marks 1000,2000
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from probe_log import append_record
from torch import nn

from ganlib.acgan_training import calibrated_sampler, class_noise, frozen, make_acgan
from ganlib.augment import random_crop_flip, random_flip
from ganlib.data import TensorBatches
from ganlib.data.cifar10 import load_cifar10
from ganlib.losses import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty, mode_seeking_loss
from ganlib.metrics import load_evaluator
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.noise import sample_labels
from ganlib.train import fit
from ganlib.utils import seed_everything

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.scoring import ACGANScorer  # noqa: E402

CONFIGS = {
    "base": {},
    "diffaug": {"diffaug": True},
    "tac": {"tac": True},
    "gweak": {"g_class_weight": 0.3},
    "diffaug_tac": {"diffaug": True, "tac": True},
    "modeseek": {"mode_seeking": 1.0},
    "modeseek2": {"mode_seeking": 2.0},
    "diffaug_modeseek": {"diffaug": True, "mode_seeking": 1.0},
}


def diff_augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Colour, translation and cutout, differentiable in ``x``: ``(n, 3, 32, 32)`` -> same shape.

    Brightness +-0.5, saturation x[0, 2], contrast x[0.5, 1.5] (on [-1, 1] images the
    brightness shift is doubled), a shift of up to 4 pixels with zero padding, and one
    16x16 square set to zero, each drawn per image.
    """
    n, device = x.shape[0], x.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, 1, 1, device=device, generator=generator)

    x = x + 2 * uniform(-0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * uniform(0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * uniform(0.5, 1.5) + mean
    x = random_crop_flip(x, padding=4, flip=False, generator=generator)
    size = x.shape[-1] // 2
    top = torch.randint(0, x.shape[-2] - size + 1, (n, 1, 1), device=device, generator=generator)
    left = torch.randint(0, x.shape[-1] - size + 1, (n, 1, 1), device=device, generator=generator)
    rows = torch.arange(x.shape[-2], device=device).view(1, -1, 1)
    cols = torch.arange(x.shape[-1], device=device).view(1, 1, -1)
    hole = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return x * (~hole).unsqueeze(1).to(x.dtype)


class TwinCritic(nn.Module):
    """An ``ACGANCritic`` with a second class head: ``D(x) -> (score, logits, twin logits)``."""

    def __init__(self, critic: ACGANCritic) -> None:
        super().__init__()
        self.critic, self.num_classes = critic, critic.num_classes
        self.twin = nn.Linear(critic.fc10.in_features, critic.num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.critic.features(x).flatten(1)
        return self.critic.fc1(h), self.critic.fc10(h), self.twin(h)


def lever_step(gan, x_real, labels, *, diffaug=False, tac=False, g_class_weight=1.0, mode_seeking=0.0,
               gp_every=4, lambda_gp=10.0, autocast_dtype=torch.bfloat16) -> dict[str, torch.Tensor]:
    """Notebook 04's ACGAN step (class head on real images only) with the levers switched on.

    With every lever off this computes what ``ganlib.acgan_training.acgan_step(..., flip=True,
    gp_every=4, d_fake_class_weight=0.0, autocast_dtype=bfloat16)`` computes.
    """
    G, D, k, rng = gan.G, gan.D, gan.num_classes, gan.rng
    n, device = x_real.shape[0], x_real.device
    autocast = torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None)
    view = (lambda x: diff_augment(x, rng)) if diffaug else (lambda x: x)

    def critic(x):
        outputs = D(x)
        return tuple(t.float() for t in outputs) + ((None,) if len(outputs) == 2 else ())

    x_real = random_flip(x_real, generator=rng)
    gan.opt_d.zero_grad(set_to_none=True)
    labels_fake = sample_labels(n, k, device=device, generator=rng)
    with torch.no_grad(), autocast:
        x_fake = G(class_noise(labels_fake, gan.z_dim, k, generator=rng)).float()
    with autocast:
        x_real_seen, x_fake_seen = view(x_real), view(x_fake)
        score_real, logits_real, _ = critic(x_real_seen)
        score_fake, logits_fake, twin_fake = critic(x_fake_seen)
    loss_w = d_loss_wasserstein(score_real, score_fake)
    class_real = F.cross_entropy(logits_real, labels)
    loss_d = loss_w + class_real
    losses = {}
    if tac:
        loss_twin = F.cross_entropy(twin_fake, labels_fake)
        loss_d = loss_d + loss_twin
        losses["loss_d_twin"] = loss_twin.detach()
    if gan.step % gp_every == 0:
        with autocast:
            loss_gp = gradient_penalty(lambda x: D(x)[0].float(), x_real_seen.detach(), x_fake_seen.detach(),
                                       generator=rng)
        loss_d = loss_d + lambda_gp * gp_every * loss_gp
        losses["loss_gp"] = loss_gp.detach()
    loss_d.backward()
    gan.opt_d.step()
    losses |= {"loss_d_wasserstein": loss_w.detach(), "loss_d_class_real": class_real.detach(),
               "acc_real": (logits_real.argmax(1) == labels).float().mean().detach(),
               "acc_fake": (logits_fake.argmax(1) == labels_fake).float().mean().detach()}

    gan.opt_g.zero_grad(set_to_none=True)
    labels_g = sample_labels(n, k, device=device, generator=rng)
    if mode_seeking:
        labels_g = labels_g[: n // 2].repeat(2)  # two halves, same classes, different noise
    z_g = class_noise(labels_g, gan.z_dim, k, generator=rng)
    with frozen(D), autocast:
        x_g = G(z_g)
        score_g, logits_g, twin_g = critic(view(x_g))
    loss_g_adv = g_loss_wasserstein(score_g)
    loss_g_class = F.cross_entropy(logits_g, labels_g)
    loss_g = loss_g_adv + g_class_weight * loss_g_class
    extra = {}
    if tac:
        loss_g = loss_g - F.cross_entropy(twin_g, labels_g)
    if mode_seeking:
        loss_ms = mode_seeking_loss(x_g, z_g)
        loss_g = loss_g + mode_seeking * loss_ms
        extra["loss_g_mode_seeking"] = loss_ms.detach()
    loss_g.backward()
    gan.opt_g.step()
    if gan.ema is not None:
        gan.ema.update_parameters(G)
    return losses | extra | {"loss_g_adv": loss_g_adv.detach(), "loss_g_class": loss_g_class.detach()}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {sorted(CONFIGS)}")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (the notebook's `seed`)")
    p.add_argument("--marks", default="1000,2000", help="steps at which to score")
    p.add_argument("--eval-samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/acgan_variety_levers.json")
    return p.parse_args(argv)


def run(config: str, seed: int, marks: list[int], x, y, real, eval_samples: int) -> list[dict]:
    """Train one configuration from scratch; scores and CPU-seconds at each mark."""
    options = CONFIGS[config]
    score = ACGANScorer(load_evaluator("cifar10", "cpu"), real, eval_samples, seed=seed,
                        with_density_coverage=True)
    seed_everything(seed)
    critic = ACGANCritic(width=32)
    critic = TwinCritic(critic) if options.get("tac") else critic
    gan = make_acgan(ACGANGenerator(width=32), critic, lr=3e-4, ema_decay=0.99, seed=seed)
    batches = TensorBatches(x, y, batch_size=64, seed=seed)
    step = functools.partial(lever_step, **options)
    train_cpu, points = 0.0, []
    for mark in marks:
        started = time.process_time()
        fit(gan, batches, mark, step_fn=step, log_every=50, progress=False)
        train_cpu += time.process_time() - started  # scoring is not counted
        scores = score(calibrated_sampler(gan))
        last = {k: round(v[-1], 4) for k, v in gan.history.items() if k.startswith(("acc_", "loss_")) and v}
        points.append({"steps": gan.step, "train_s": round(gan.seconds, 1), "cpu_s": round(train_cpu, 1),
                       **scores, "last_log": last})
        print(config, seed, json.dumps(points[-1]), flush=True)
    return points


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    x, y = load_cifar10(train=True)
    real, _ = load_cifar10(train=False, scale="unit", limit=args.eval_samples)
    marks = sorted(int(m) for m in args.marks.split(","))
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for config in args.configs.split(","):
            rows.append({"config": config, "seed": seed, "options": CONFIGS[config],
                         "evals": run(config, seed, marks, x, y, real, args.eval_samples)})
            append_record(args.out, probe="acgan_variety_levers", rows=[rows[-1]])
    return rows


if __name__ == "__main__":
    main()
