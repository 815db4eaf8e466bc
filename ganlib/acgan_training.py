"""Training ACGAN with the WGAN-GP loss (notebook 04); the networks are in :mod:`ganlib.models.acgan`.

The critic :class:`ganlib.models.ACGANCritic` (first trained as a plain classifier with
:mod:`ganlib.classifier`) is trained against :class:`ganlib.models.ACGANGenerator`:

critic loss     ``mean D(fake) - mean D(real)``             (Wasserstein estimate)
                ``+ lambda * mean_i (||grad D(x_hat_i)|| - 1)^2``   (gradient penalty)
                ``+ CE(class(real), y) + CE(class(fake), y_fake)``  (auxiliary classifier)
generator loss  ``-mean D(fake) + CE(class(fake), y_fake)``

The class of a fake is written into the first ``num_classes`` entries of its noise
vector (:func:`class_noise`). :func:`acgan_step` plugs into :func:`ganlib.train.fit`.
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ganlib.augment import random_flip
from ganlib.losses import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty, mode_seeking_loss
from ganlib.noise import check_labels, one_hot, sample_labels
from ganlib.sampling import recalibrate_batchnorm
from ganlib.train import GAN, StepFn, make_gan

LAMBDA_GP = 10.0
ACGAN_BETAS = (0.0, 0.9)  # floats: Adam(betas=(0, 0.9)) raises in recent torch


def class_noise(
    labels: torch.Tensor,
    z_dim: int = 128,
    num_classes: int = 10,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Gaussian noise whose first ``num_classes`` entries are replaced by the one-hot class.

    Args:
        labels: class indices ``(n,)``.
        z_dim: noise length (128), more than ``num_classes``.
        num_classes: number of classes (10).
        generator: optional ``torch.Generator`` on ``labels.device``.

    Returns:
        Noise ``(n, z_dim)`` on ``labels.device``.
    """
    if z_dim <= num_classes:
        raise ValueError(f"z_dim ({z_dim}) must exceed num_classes ({num_classes}) to leave room for noise.")
    check_labels(labels, num_classes)
    z = torch.randn(labels.shape[0], z_dim, device=labels.device, generator=generator)
    z[:, :num_classes] = one_hot(labels, num_classes)
    return z


def fixed_grid_noise(
    rows: int = 10,
    z_dim: int = 128,
    num_classes: int = 10,
    *,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise for a ``rows x num_classes`` sample grid: one class per column.

    Draw it once before training and sample from it after every epoch, so the grids of
    successive epochs show the same noise and their changes come from training alone.
    Show it with ``show_images(G(z), nrow=num_classes)``.

    Returns:
        ``z`` of shape ``(rows * num_classes, z_dim)`` and its ``labels`` ``(rows * num_classes,)``.
    """
    labels = torch.arange(num_classes).repeat(rows)  # row-major: column j is class j
    z = class_noise(labels, z_dim, num_classes, generator=torch.Generator().manual_seed(seed))
    return z.to(device), labels.to(device)


def make_acgan(
    G: nn.Module,
    D: nn.Module,
    *,
    lr: float = 1e-4,
    lr_d: float | None = None,
    betas: tuple[float, float] = ACGAN_BETAS,
    ema_decay: float | None = None,
    seed: int = 0,
    train_step: StepFn | None = None,
) -> GAN:
    """Wrap an ACGAN generator and critic (already on their device) for :func:`ganlib.train.fit`.

    Args:
        G: the generator, e.g. :class:`ganlib.models.ACGANGenerator` (has ``z_dim``).
        D: the critic, e.g. :class:`ganlib.models.ACGANCritic` (has ``num_classes``).
        lr: Adam learning rate of the generator, and of the critic unless ``lr_d`` (1e-4 in WGAN-GP).
        lr_d: a different learning rate for the critic (two time-scales).
        betas: Adam betas; beta1 = 0 (no momentum) as in the WGAN-GP paper.
        ema_decay: e.g. 0.999 to keep a moving average of the generator.
        seed: seed of the noise / label / interpolation generator.
        train_step: the step ``fit`` repeats; default :func:`acgan_step` with the course's options.
    """
    return make_gan(G, D, z_dim=G.z_dim, num_classes=D.num_classes, lr=lr, lr_d=lr_d, betas=betas,
                    ema_decay=ema_decay, seed=seed, train_step=train_step or acgan_step)


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Switch off gradients of ``module``'s weights inside the block (skips their computation)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def acgan_step(
    gan: GAN,
    x_real: torch.Tensor,
    labels: torch.Tensor,
    *,
    lambda_gp: float = LAMBDA_GP,
    flip: bool = False,
    gp_every: int = 1,
    n_critic: int = 1,
    g_class_weight: float = 1.0,
    d_fake_class_weight: float = 1.0,
    mode_seeking: float = 0.0,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """One critic update, and (every ``n_critic``-th call) one generator update, of ACGAN with WGAN-GP.

    Bind the options with ``functools.partial`` and pass the result to :func:`ganlib.train.fit`.

    Args:
        gan: state from :func:`make_acgan`; ``gan.rng`` draws all the randomness and
            ``gan.step`` (the number of earlier calls) decides which terms this call computes.
        x_real: real images ``(n, 3, 32, 32)`` in [-1, 1].
        labels: their classes ``(n,)``.
        lambda_gp: weight of the gradient penalty (10).
        flip: mirror half of the real images.
        gp_every: a lazy penalty: compute it on one critic step in ``gp_every`` only, weighted
            by ``lambda_gp * gp_every`` so that its average pull is unchanged (1: every step,
            as in the course). The penalty's double backward is the dearest part of the step.
        n_critic: critic updates per generator update (1 in the UIUC assignment; 5 in the
            WGAN-GP paper). Each call is one critic update on one batch.
        g_class_weight: weight of the generator's class loss beside its adversarial loss
            (1 in the UIUC assignment).
        d_fake_class_weight: weight of the critic's class loss on fakes (1 in the UIUC
            assignment's loss; 0 trains the class head on real images only). ``loss_d_class`` is
            logged unweighted.
        mode_seeking: weight of MSGAN's mode-seeking term in the generator's loss (see
            :func:`ganlib.losses.mode_seeking_loss`; 0: off, as in the UIUC assignment). Its
            batch is then two halves with the same classes and different noise, so that two
            noises of one class are pushed to give two different images.
        autocast_dtype: e.g. ``torch.bfloat16`` to run the networks' forward and backward
            passes in bfloat16 autocast (see :func:`ganlib.utils.fast_autocast_dtype`); losses
            and the penalty's gradient norms stay in float32.

    Returns:
        Detached scalars of the terms computed in this call: always ``loss_d_wasserstein``,
        ``loss_d_class`` and the class head's accuracy ``acc_real``, ``acc_fake``;
        ``loss_gp`` on penalty steps; ``loss_g_adv`` and ``loss_g_class`` on generator steps
        (and ``loss_g_mode_seeking`` when it is on).
        (``fit`` averages each name over the calls that returned it.)
    """
    for name, value in (("gp_every", gp_every), ("n_critic", n_critic)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1 (1 = every step), got {value!r}.")
    for name, value in (("g_class_weight", g_class_weight), ("d_fake_class_weight", d_fake_class_weight),
                        ("mode_seeking", mode_seeking)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0 (1 = the course's loss), got {value!r}.")
    autocast = torch.autocast(x_real.device.type, dtype=autocast_dtype or torch.float32,
                              enabled=autocast_dtype is not None)
    if flip:
        x_real = random_flip(x_real, generator=gan.rng)
    gp_weight = lambda_gp * gp_every if gan.step % gp_every == 0 else 0.0
    losses = critic_step(gan, x_real, labels, gp_weight=gp_weight, fake_class_weight=d_fake_class_weight,
                         autocast=autocast)
    if (gan.step + 1) % n_critic:
        return losses
    return losses | generator_step(gan, x_real.shape[0], class_weight=g_class_weight, mode_seeking=mode_seeking,
                                   autocast=autocast)


def critic_step(gan: GAN, x_real: torch.Tensor, labels: torch.Tensor, *, gp_weight: float,
                fake_class_weight: float, autocast: torch.autocast) -> dict[str, torch.Tensor]:
    """One critic update on real images and fresh (detached) fakes of random classes.

    Args:
        gan, x_real, labels: as in :func:`acgan_step`.
        gp_weight: weight of the gradient penalty in this update; 0 skips it.
        fake_class_weight: weight of the class loss on fakes.
        autocast: the autocast context the networks run in.

    Returns:
        Detached ``loss_d_wasserstein``, ``loss_d_class``, ``acc_real``, ``acc_fake`` (and ``loss_gp``).
    """
    G, D, num_classes, rng = gan.G, gan.D, gan.num_classes, gan.rng
    gan.opt_d.zero_grad(set_to_none=True)
    labels_fake = sample_labels(x_real.shape[0], num_classes, device=x_real.device, generator=rng)
    with torch.no_grad(), autocast:
        x_fake = G(class_noise(labels_fake, gan.z_dim, num_classes, generator=rng)).float()
    with autocast:
        score_real, logits_real = (t.float() for t in D(x_real))
        score_fake, logits_fake = (t.float() for t in D(x_fake))
    loss_w = d_loss_wasserstein(score_real, score_fake)  # the Wasserstein estimate
    class_real = F.cross_entropy(logits_real, labels)  # the class of real images
    class_fake = F.cross_entropy(logits_fake, labels_fake)  # the class asked of each fake
    loss_d = loss_w + class_real + fake_class_weight * class_fake
    losses: dict[str, torch.Tensor] = {}
    if gp_weight:
        with autocast:  # kept eager: torch.compile cannot compile this double backward
            loss_gp = gradient_penalty(lambda x: D(x)[0].float(), x_real, x_fake, generator=rng)
        loss_d = loss_d + gp_weight * loss_gp  # the gradient penalty
        losses["loss_gp"] = loss_gp.detach()
    loss_d.backward()
    gan.opt_d.step()
    return losses | {
        "loss_d_wasserstein": loss_w.detach(),
        "loss_d_class": (class_real + class_fake).detach(),
        "acc_real": (logits_real.argmax(1) == labels).float().mean().detach(),
        "acc_fake": (logits_fake.argmax(1) == labels_fake).float().mean().detach(),
    }


def generator_step(gan: GAN, n: int, *, class_weight: float, autocast: torch.autocast,
                   mode_seeking: float = 0.0) -> dict[str, torch.Tensor]:
    """One generator update on ``n`` fresh fakes of random classes; the critic's weights are frozen.

    With ``mode_seeking`` the second half of the batch repeats the first half's classes with new
    noise, and the generator's loss adds ``mode_seeking * mode_seeking_loss``.

    Returns:
        Detached ``loss_g_adv`` (``-mean D(fake)``) and ``loss_g_class`` (and ``loss_g_mode_seeking``).
    """
    G, D, num_classes, rng = gan.G, gan.D, gan.num_classes, gan.rng
    gan.opt_g.zero_grad(set_to_none=True)
    labels_g = sample_labels(n, num_classes, device=gan.device, generator=rng)
    if mode_seeking:
        labels_g = labels_g[: n // 2].repeat(2)  # pairs: one class, two noises
    z = class_noise(labels_g, gan.z_dim, num_classes, generator=rng)
    with frozen(D), autocast:  # no gradient is spent on the critic's weights
        x_fake = G(z)
        score_g, logits_g = (t.float() for t in D(x_fake))
    loss_g_adv = g_loss_wasserstein(score_g)  # the generator's adversarial loss
    loss_g_class = F.cross_entropy(logits_g, labels_g)  # the generator's class loss
    loss_g = loss_g_adv + class_weight * loss_g_class
    losses = {"loss_g_adv": loss_g_adv.detach(), "loss_g_class": loss_g_class.detach()}
    if mode_seeking:
        loss_ms = mode_seeking_loss(x_fake, z)  # two noises of one class, two images
        loss_g = loss_g + mode_seeking * loss_ms
        losses["loss_g_mode_seeking"] = loss_ms.detach()
    loss_g.backward()
    gan.opt_g.step()
    if gan.ema is not None:
        gan.ema.update_parameters(G)
    return losses


class LabelledGenerator(nn.Module):
    """``G(z, labels)`` view of an ACGAN generator, whose class is written into its noise.

    Lets the tools made for conditional generators (``ganlib.sampling.sample_balanced``,
    ``ganlib.metrics.evaluate_generator``, the explorers) drive an ACGAN generator: the first
    ``num_classes`` entries of ``z`` are replaced by the one-hot ``labels``.
    """

    def __init__(self, G: nn.Module, num_classes: int = 10) -> None:
        super().__init__()
        self.G, self.num_classes, self.z_dim = G, num_classes, G.z_dim
        self.train(G.training)  # the view starts in G's mode, so that .train()/.eval() calls agree with it

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``, labels ``(n,)``. Returns: images ``(n, 3, 32, 32)`` in [-1, 1]."""
        check_labels(labels, self.num_classes)
        z = torch.cat([one_hot(labels, self.num_classes).to(z.dtype), z[:, self.num_classes:]], dim=1)
        return self.G(z)


def calibrated_sampler(gan: GAN) -> nn.Module:
    """The generator to sample and judge: ``gan.sampler``, or with an EMA a recalibrated copy.

    The moving average of the weights carries a moving average of BatchNorm's running
    statistics, measured on older weights; a copy of the averaged generator gets statistics
    measured again through its own weights (:func:`ganlib.sampling.recalibrate_batchnorm`,
    every class equally often). Training state is left untouched.

    Returns:
        An ACGAN generator ``G(z)`` in eval mode.
    """
    if gan.ema is None:
        return gan.sampler
    labelled = LabelledGenerator(copy.deepcopy(gan.sampler), gan.num_classes)
    return recalibrate_batchnorm(labelled, gan.z_dim, gan.num_classes).G
