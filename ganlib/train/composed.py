"""The standard GAN step of the course's runs: the textbook steps plus the levers a run switches on.

``gan_step`` calls :func:`ganlib.train.steps.d_step` and :func:`ganlib.train.steps.g_step`; a
lever replaces or follows one of them: R1 (:func:`r1_d_step`), the mismatch update
(:func:`mismatch_step`) and the generator's weight average (``gan.ema``). Bind the levers with
``functools.partial(gan_step, loss=BCELoss(0.9), r1_gamma=1.0)``; a :class:`ganlib.runs.Run` does.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.losses import AdversarialLoss, d_loss_mismatch, r1_penalty
from ganlib.noise import mismatched_labels, sample_z
from ganlib.train.state import GAN
from ganlib.train.steps import BCE, d_step, g_step, run_discriminator, run_generator


def r1_d_step(
    G: nn.Module,
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    x_real: torch.Tensor,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    gamma: float,
    loss: AdversarialLoss = BCE,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`ganlib.train.steps.d_step` with the R1 penalty ``gamma / 2 * E||grad_x D(x_real)||^2`` added.

    The penalty keeps D flat on the real data (:func:`ganlib.losses.r1_penalty`); it needs the
    gradient of D's logits with respect to the real images, so those are made differentiable.

    Returns:
        ``(loss_d, r1)``: the loss without the penalty and the unweighted penalty, detached scalars.
    """
    opt_d.zero_grad(set_to_none=True)
    x_fake = run_generator(G, z, labels).detach()
    logits_fake = run_discriminator(D, x_fake, labels)
    x_real = x_real.detach().requires_grad_(True)
    logits_real = run_discriminator(D, x_real, labels)
    loss_d = loss.d(logits_real, logits_fake)
    r1 = r1_penalty(logits_real, x_real)
    (loss_d + gamma / 2 * r1).backward()
    opt_d.step()
    return loss_d.detach(), r1.detach()


def mismatch_step(
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    x_real: torch.Tensor,
    wrong_labels: torch.Tensor,
    *,
    weight: float = 1.0,
) -> torch.Tensor:
    """A second, small discriminator update: real images paired with wrong labels are fakes.

    Without it a conditional discriminator can score realism alone, and the generator can
    ignore the class it was asked for (see :func:`ganlib.losses.d_loss_mismatch`).

    Args:
        D: a conditional discriminator ``D(x, labels)``.
        opt_d: its optimizer.
        x_real: real images ``(n, C, H, W)``.
        wrong_labels: a wrong class for each image ``(n,)`` (:func:`ganlib.noise.mismatched_labels`).
        weight: scale of this loss (1.0 counts it like the fake half of the usual D loss).

    Returns:
        The weighted mismatch loss, a detached scalar tensor.
    """
    opt_d.zero_grad(set_to_none=True)
    loss_mismatch = weight * d_loss_mismatch(run_discriminator(D, x_real, wrong_labels))
    loss_mismatch.backward()
    opt_d.step()
    return loss_mismatch.detach()


def gan_step(
    gan: GAN,
    x_real: torch.Tensor,
    labels: torch.Tensor,
    *,
    loss: AdversarialLoss = BCE,
    r1_gamma: float = 0.0,
    mismatch_weight: float = 0.0,
) -> dict[str, torch.Tensor]:
    """One D step and one G step of the standard (optionally conditional) GAN.

    Args:
        gan: the training state.
        x_real: a batch of real images ``(n, C, H, W)``.
        labels: their classes ``(n,)``; ignored by unconditional GANs.
        loss: the adversarial loss of both steps.
        r1_gamma: weight of the R1 penalty on real images; 0 for none.
        mismatch_weight: conditional GANs: weight of the mismatch update; 0 for none.

    Returns:
        ``{"loss_d": ..., "loss_g": ...}`` as detached scalar tensors, plus ``"r1"`` and
        ``"loss_mismatch"`` when those levers are on.
    """
    n = x_real.shape[0]
    labels = labels if gan.num_classes is not None else None
    extra: dict[str, torch.Tensor] = {}
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    if r1_gamma:
        loss_d, extra["r1"] = r1_d_step(gan.G, gan.D, gan.opt_d, x_real, z, labels, gamma=r1_gamma, loss=loss)
    else:
        loss_d = d_step(gan.G, gan.D, gan.opt_d, x_real, z, labels, loss=loss)
    if mismatch_weight:
        if labels is None:
            raise ValueError(f"mismatch_weight={mismatch_weight} needs a conditional GAN (num_classes >= 2): "
                             "it shows D real images with wrong labels.")
        wrong = mismatched_labels(labels, gan.num_classes, generator=gan.rng)
        extra["loss_mismatch"] = mismatch_step(gan.D, gan.opt_d, x_real, wrong, weight=mismatch_weight)
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels, loss=loss)
    if gan.ema is not None:
        gan.ema.update_parameters(gan.G)
    return {"loss_d": loss_d, **extra, "loss_g": loss_g}
