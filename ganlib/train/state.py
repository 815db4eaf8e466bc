"""The training state of a GAN: its two networks, their optimizers, its noise source and its step."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from ganlib.train.ema import make_ema

StepFn = Callable[["GAN", torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


@dataclass
class GAN:
    """Everything a training run changes, in one place (and in one checkpoint).

    Build it with :func:`make_gan` (or ``run.build()`` of a :class:`ganlib.runs.Run`).
    ``num_classes`` is None for an unconditional GAN. ``train_step`` is the step
    :func:`ganlib.train.fit` repeats (``gan_step`` unless the run binds another). ``ema``
    optionally holds a moving average of the generator's weights (decay ``ema_decay``),
    which usually gives cleaner samples than the raw generator.
    """

    G: nn.Module  # the generator network
    D: nn.Module  # the discriminator (or critic) network
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    z_dim: int
    rng: torch.Generator
    train_step: StepFn
    num_classes: int | None = None
    ema: AveragedModel | None = None
    ema_decay: float | None = None
    step: int = 0
    seconds: float = 0.0
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw samples from: the weight average when there is one."""
        return self.ema.module if self.ema is not None else self.G


def check_optimizer_settings(lr: float, lr_d: float | None, betas: tuple[float, float],
                             ema_decay: float | None) -> list[str]:
    """What is wrong with a run's optimizer settings, one sentence per problem (empty: all fine)."""
    problems = []
    for name, value in (("lr", lr), ("lr_d", lr_d)):
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            problems.append(f"{name} must be a positive learning rate (e.g. 2e-4), got {value!r}")
    betas_ok = isinstance(betas, (tuple, list)) and len(betas) == 2
    if not (betas_ok and all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in betas)):
        problems.append(f"betas must be two numbers in [0, 1) (e.g. (0.5, 0.999)), got {betas!r}")
    if ema_decay is not None and not (isinstance(ema_decay, (int, float)) and 0 < ema_decay < 1):
        problems.append(f"ema_decay must be None or a number in (0, 1) (e.g. 0.999), got {ema_decay!r}")
    return problems


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam, fused into one kernel on CUDA (fewer launches per step), plain elsewhere."""
    return torch.optim.Adam(params, lr=lr, betas=tuple(float(b) for b in betas), fused=device.type == "cuda")


def make_gan(
    G: nn.Module,
    D: nn.Module,
    *,
    z_dim: int,
    num_classes: int | None = None,
    lr: float = 2e-4,
    lr_d: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    ema_decay: float | None = None,
    seed: int = 0,
    train_step: StepFn | None = None,
) -> GAN:
    """Wrap two networks (already on their device) with optimizers and a noise generator.

    Args:
        G, D: the generator and the discriminator.
        z_dim: noise length the generator expects.
        num_classes: classes of a conditional GAN; None for an unconditional one.
        lr: Adam learning rate of the generator (and of the discriminator unless ``lr_d``).
        lr_d: a different learning rate for the discriminator.
        betas: Adam's betas; (0.5, 0.999) is the DCGAN paper's choice.
        ema_decay: e.g. 0.999 to keep a moving average of the generator's weights.
        seed: seed of the noise generator.
        train_step: the step ``fit`` repeats; default :func:`ganlib.train.gan_step` with the
            plain BCE loss.

    Returns:
        A :class:`GAN` at step 0.
    """
    problems = check_optimizer_settings(lr, lr_d, betas, ema_decay)
    if problems:
        raise ValueError("Bad training settings: " + "; ".join(problems) + ".")
    if train_step is None:
        from ganlib.train.composed import gan_step  # composed imports this module

        train_step = gan_step
    device = next(G.parameters()).device
    return GAN(
        G=G,
        D=D,
        opt_g=make_adam(G.parameters(), lr, betas, device),
        opt_d=make_adam(D.parameters(), lr_d or lr, betas, device),
        z_dim=z_dim,
        rng=torch.Generator(device).manual_seed(seed),
        train_step=train_step,
        num_classes=num_classes,
        ema=make_ema(G, ema_decay) if ema_decay is not None else None,
        ema_decay=ema_decay,
    )
