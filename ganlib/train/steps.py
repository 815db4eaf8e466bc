"""The textbook GAN steps: one discriminator update, one generator update, the loss as an argument.

These two functions are the whole algorithm. Everything a faster run adds (the R1 penalty,
the mismatch update, a weight average) is composed around them in :mod:`ganlib.train.composed`.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.losses import AdversarialLoss, BCELoss

BCE = BCELoss()


def run_generator(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Call an unconditional ``G(z)`` or a conditional ``G(z, labels)`` generator (as it is: no mode change).

    To draw samples for looking at or scoring, use :func:`ganlib.sampling.sample` (eval mode, no grad).
    """
    return G(z) if labels is None else G(z, labels)


def run_discriminator(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Call an unconditional ``D(x)`` or a conditional ``D(x, labels)`` discriminator."""
    return D(x) if labels is None else D(x, labels)


def d_step(
    G: nn.Module,
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    x_real: torch.Tensor,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    loss: AdversarialLoss = BCE,
) -> torch.Tensor:
    """One discriminator update on a batch of real images and a batch of fakes.

    Args:
        G, D: the generator and the discriminator (conditional ones take ``labels``).
        opt_d: the discriminator's optimizer.
        x_real: real images ``(n, C, H, W)``.
        z: noise ``(n, z_dim)`` for the fakes.
        labels: class labels ``(n,)`` for conditional models, else None.
        loss: the adversarial loss (:class:`ganlib.losses.BCELoss` by default); its ``d`` is used.

    Returns:
        The discriminator loss, a detached scalar tensor (reading it would sync a GPU).
    """
    opt_d.zero_grad(set_to_none=True)
    # .detach(): this loss trains D only; without it, backward() would also fill G's
    # gradients (and spend time computing them).
    x_fake = run_generator(G, z, labels).detach()
    logits_fake = run_discriminator(D, x_fake, labels)
    logits_real = run_discriminator(D, x_real, labels)
    loss_d = loss.d(logits_real, logits_fake)
    loss_d.backward()
    opt_d.step()
    return loss_d.detach()


def g_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    loss: AdversarialLoss = BCE,
) -> torch.Tensor:
    """One generator update: make the discriminator call fresh fakes real.

    Gradients flow through the discriminator into the generator, but only ``opt_g``
    steps, so the discriminator's weights do not change here.

    Args:
        G, D, labels: as in :func:`d_step`.
        opt_g: the generator's optimizer.
        z: noise ``(n, z_dim)``.
        loss: the adversarial loss; its ``g`` is used.

    Returns:
        The generator loss, a detached scalar tensor.
    """
    opt_g.zero_grad(set_to_none=True)
    x_fake = run_generator(G, z, labels)
    loss_g = loss.g(run_discriminator(D, x_fake, labels))
    loss_g.backward()
    opt_g.step()
    return loss_g.detach()
