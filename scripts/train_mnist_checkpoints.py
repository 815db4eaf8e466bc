"""Train the MNIST generators that ship in ganlib/weights/, from scratch and resumably.

Usage (the shipped files were made with these, see ganlib/weights/manifest.json):

    python scripts/train_mnist_checkpoints.py --model cgan_onehot_mnist --max-minutes 75
    python scripts/train_mnist_checkpoints.py --model dcgan_mnist --recipe baseline --max-minutes 40

``--recipe improved`` (default) is what ships: Adam (0.5, 0.999), one-sided label
smoothing (real target 0.9), an exponential moving average of the generator (the EMA
weights are saved), and for the conditional GANs a "mismatch" term that shows the
discriminator real images with wrong labels as fakes (Reed et al. 2016), which forces it
to check the class. ``--recipe baseline`` is the course material's plain setting, used
to measure what the improvements buy at equal training time. The shipped MLP GAN uses
``--recipe r1g1`` (the improved recipe plus an R1 penalty, gamma 1), which stopped the
mode collapse the plain improved recipe showed (recall 0.03 -> 0.79).

Training stops at ``--steps`` or after ``--max-minutes`` of training time, whichever comes
first; a killed run started again with the same arguments resumes from its checkpoint.
The generator's weights (EMA when there is one) are written to ``--out`` in float16.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.data import TensorBatches, load_mnist
from ganlib.losses import d_loss_bce
from ganlib.models import (
    DCGANDiscriminator,
    EmbeddingConditionalDiscriminator,
    MLPDiscriminator,
    OneHotConditionalDiscriminator,
    init_dcgan_weights,
)
from ganlib.noise import sample_z
from ganlib.pretrained import build_model, output_scale, pretrained_info
from ganlib.train import GAN, d_step, fit, g_step, make_gan, run_discriminator, run_generator
from ganlib.utils import get_device, seed_everything

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed


@dataclass(frozen=True)
class Recipe:
    """Hyper-parameters of one training setting."""

    lr: float
    betas: tuple[float, float]
    batch_size: int
    real_target: float = 1.0
    ema_decay: float | None = None
    mismatch_weight: float = 0.0
    r1_gamma: float = 0.0


# The course material's settings (the baselines) and the ones that ship.
RECIPES: dict[str, dict[str, Recipe]] = {
    "mlp_gan_mnist": {
        "baseline": Recipe(lr=1e-5, betas=(0.9, 0.999), batch_size=128),
        "improved": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128, real_target=0.9, ema_decay=0.998),
        "r1g1": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128, real_target=0.9, ema_decay=0.998, r1_gamma=1.0),
        "r1g10": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128, real_target=0.9, ema_decay=0.998,
                        r1_gamma=10.0),
    },
    "dcgan_mnist": {
        "baseline": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128),
        "improved": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=64, real_target=0.9, ema_decay=0.998),
    },
    "cgan_onehot_mnist": {
        "baseline": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128),
        "improved": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=64, real_target=0.9, ema_decay=0.999,
                           mismatch_weight=1.0),
    },
    "cgan_embedding_mnist": {
        "baseline": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128),
        "improved": Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=64, real_target=0.9, ema_decay=0.999,
                           mismatch_weight=1.0),
    },
}

# Model class, constructor kwargs, data scale and whether it is conditional.
# The discriminator each generator trains against. The generator's class, constructor
# arguments, value range and classes come from the registry (ganlib/weights/manifest.json).
DISCRIMINATORS: dict[str, dict] = {
    "mlp_gan_mnist": {"class": MLPDiscriminator, "kwargs": {}, "dcgan_init": False},
    "dcgan_mnist": {"class": DCGANDiscriminator, "kwargs": {"image_channels": 1, "hidden_dim": 64},
                    "dcgan_init": True},
    "cgan_onehot_mnist": {"class": OneHotConditionalDiscriminator,
                          "kwargs": {"num_classes": 10, "image_channels": 1, "hidden_dim": 64}, "dcgan_init": True},
    "cgan_embedding_mnist": {"class": EmbeddingConditionalDiscriminator,
                             "kwargs": {"num_classes": 10, "image_channels": 1, "hidden_dim": 64}, "dcgan_init": True},
}


def mismatch_gan_step(weight: float):
    """A conditional GAN step whose D also learns that (real image, wrong label) is fake."""

    def step(gan: GAN, x_real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        n = x_real.shape[0]
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_d = d_step(gan.G, gan.D, gan.opt_d, x_real, z, labels,
                        real_target=gan.real_target)
        # A second, small D update on real images paired with a wrong class: without it,
        # D can score realism alone and G can ignore the label it was asked for.
        shift = torch.randint(1, gan.num_classes, (n,), device=x_real.device, generator=gan.rng)
        wrong = (labels + shift) % gan.num_classes
        gan.opt_d.zero_grad(set_to_none=True)
        logits = gan.D(x_real, wrong)
        loss_mis = weight * F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) / 2
        loss_mis.backward()
        gan.opt_d.step()
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels)
        gan.ema.update_parameters(gan.G) if gan.ema is not None else None
        return {"loss_d": loss_d, "loss_mismatch": loss_mis.detach(), "loss_g": loss_g}

    return step


def r1_gan_step(gamma: float):
    """A GAN step whose D loss adds the R1 penalty ``gamma / 2 * E ||grad_x D(x_real)||^2``.

    R1 (Mescheder et al. 2018) keeps the discriminator flat on the real data, which damps
    the oscillations that make a fast-learning GAN collapse onto a few modes.
    """

    def step(gan: GAN, x_real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        n = x_real.shape[0]
        labels = labels if gan.num_classes is not None else None
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        gan.opt_d.zero_grad(set_to_none=True)
        logits_fake = run_discriminator(gan.D, run_generator(gan.G, z, labels).detach(), labels)
        x_real = x_real.detach().requires_grad_(True)
        logits_real = run_discriminator(gan.D, x_real, labels)
        (grad,) = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
        r1 = grad.square().flatten(1).sum(1).mean()
        loss_d = d_loss_bce(logits_real, logits_fake, gan.real_target)
        (loss_d + gamma / 2 * r1).backward()
        gan.opt_d.step()
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels)
        gan.ema.update_parameters(gan.G) if gan.ema is not None else None
        return {"loss_d": loss_d.detach(), "r1": r1.detach(), "loss_g": loss_g}

    return step


def build(name: str, recipe: Recipe, device: torch.device, seed: int) -> GAN:
    """Fresh generator and discriminator for ``name``, wrapped by make_gan."""
    spec, d_spec = pretrained_info(name), DISCRIMINATORS[name]
    seed_everything(seed)
    G = build_model(name).to(device)
    D = d_spec["class"](**d_spec["kwargs"]).to(device)
    if d_spec["dcgan_init"]:
        G.apply(init_dcgan_weights)
        D.apply(init_dcgan_weights)
    return make_gan(G, D, z_dim=spec["kwargs"]["z_dim"], num_classes=spec["num_classes"],
                    lr=recipe.lr, betas=recipe.betas, real_target=recipe.real_target,
                    ema_decay=recipe.ema_decay, seed=seed)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, z_dim: int, num_classes: int | None, *, num_batches: int = 40,
                          batch_size: int = 256, seed: int = 0) -> nn.Module:
    """Recompute the BatchNorm running statistics of an averaged generator; returns it in eval mode.

    The EMA of the weights comes with an EMA of the BatchNorm running averages, which were
    measured on older weights and fit the averaged ones poorly (the SWA paper's point too).
    Averaging the batch statistics of fresh noise batches through the averaged weights
    fixes this.
    """
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over all the batches below
    model.train()
    rng = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    for _ in range(num_batches):
        z = sample_z(batch_size, z_dim, generator=rng).to(device)
        model(z) if num_classes is None else model(z, (torch.arange(batch_size) % num_classes).to(device))
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.1
    return model.eval()


def quick_metrics(name: str, sampler: nn.Module, num_samples: int, device: torch.device) -> dict | None:
    """Metrics of ``sampler`` against the MNIST test set, or None when no evaluator is there yet."""
    try:
        from ganlib.metrics import evaluate_generator
        from ganlib.pretrained import load_pretrained

        evaluator = load_pretrained("mnist_evaluator", device=device)
    except (ImportError, FileNotFoundError, ValueError, KeyError) as error:
        print(f"(no metrics: {error})", flush=True)
        return None
    x_test, _ = load_mnist(train=False, scale="unit")
    spec = pretrained_info(name)
    sampler = recalibrate_batchnorm(copy.deepcopy(sampler), spec["kwargs"]["z_dim"], spec["num_classes"])
    result = evaluate_generator(sampler, evaluator, x_test, scale=spec["scale"],
                                num_classes=spec["num_classes"], num_samples=num_samples,
                                generator=torch.Generator().manual_seed(1234))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=sorted(DISCRIMINATORS))
    parser.add_argument("--recipe", default="improved", help="a key of RECIPES[model]: improved, baseline, ...")
    parser.add_argument("--steps", type=int, default=1_000_000, help="stop at this many steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest found)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="weights file (default runs/<model>_<recipe>/generator.pt)")
    parser.add_argument("--checkpoint", default=None,
                        help="training checkpoint (default runs/<model>_<recipe>/train.pt)")
    parser.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=200, help="steps between checkpoints")
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between quick metrics (0: never)")
    parser.add_argument("--eval-samples", type=int, default=2000)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    if args.recipe not in RECIPES[args.model]:
        parser.error(f"--recipe must be one of {sorted(RECIPES[args.model])} for {args.model}")
    recipe = RECIPES[args.model][args.recipe]
    run_dir = REPO / "runs" / f"{args.model}_{args.recipe}"
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(args.checkpoint) if args.checkpoint else run_dir / "train.pt"
    out = Path(args.out) if args.out else run_dir / "generator.pt"
    if args.no_resume and checkpoint.exists():
        checkpoint.unlink()

    x, y = load_mnist(train=True, scale=output_scale(args.model), device=device)
    batches = TensorBatches(x, y, batch_size=recipe.batch_size, seed=args.seed)
    gan = build(args.model, recipe, device, args.seed)
    step_fn = mismatch_gan_step(recipe.mismatch_weight) if recipe.mismatch_weight else None
    step_fn = r1_gan_step(recipe.r1_gamma) if recipe.r1_gamma else step_fn
    budget = args.max_minutes * 60 if args.max_minutes else None
    print(f"{args.model} / {args.recipe}: {recipe} on {device}, threads {torch.get_num_threads()}", flush=True)

    def on_log(g: GAN) -> None:
        losses = {k: round(v[-1], 4) for k, v in g.history.items() if k not in ("step", "seconds")}
        print(f"step {g.step} seconds {g.seconds:.0f} {losses}", flush=True)
        if args.eval_every and g.step % args.eval_every == 0:
            result = quick_metrics(args.model, g.sampler, args.eval_samples, device)
            if result is not None:
                print(f"eval step {g.step} seconds {g.seconds:.0f} {json.dumps(result)}", flush=True)

    # fit stops at --steps or at the first log past --max-minutes, after a checkpoint.
    kwargs = {"step_fn": step_fn} if step_fn else {}
    fit(gan, batches, args.steps, log_every=100 if args.chunk % 100 == 0 else args.chunk, on_log=on_log,
        time_budget=budget, checkpoint_path=checkpoint, checkpoint_every=args.chunk, progress=False, **kwargs)

    sampler = copy.deepcopy(gan.sampler)
    if gan.ema is not None:
        spec = pretrained_info(args.model)
        sampler = recalibrate_batchnorm(sampler, spec["kwargs"]["z_dim"], spec["num_classes"], seed=args.seed)
    weights = {k: (v.half() if v.is_floating_point() else v) for k, v in sampler.state_dict().items()}
    weights = {k: v.cpu() for k, v in weights.items() if k != "n_averaged"}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, out)
    summary = {
        "model": args.model, "recipe": args.recipe, "settings": recipe.__dict__,
        "steps": gan.step, "training_seconds": round(gan.seconds, 1), "weights": str(out),
        "command": "python scripts/train_mnist_checkpoints.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": (f"{platform.machine()} CPU x{torch.get_num_threads()} threads" if device.type == "cpu"
                    else str(device)),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, default=str), flush=True)


if __name__ == "__main__":
    main()
