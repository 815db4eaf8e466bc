"""Paired discriminator / generator losses, all computed on raw logits.

Working on logits (not on sigmoid outputs) lets PyTorch use the numerically stable
``binary_cross_entropy_with_logits``; a sigmoid followed by ``log`` underflows to
``-inf`` once the discriminator becomes confident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch
import torch.nn.functional as F


class AdversarialLoss(Protocol):
    """What a training step needs of a loss: one method per player, both on raw logits.

    :class:`BCELoss` is the standard one; any object with these two methods (a hinge loss, a
    least-squares loss) can be passed to :func:`ganlib.train.d_step` / :func:`ganlib.train.g_step`.
    """

    def d(self, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        """The discriminator's scalar loss from its logits ``(n, 1)`` on real and on fake images."""
        ...

    def g(self, logits_fake: torch.Tensor) -> torch.Tensor:
        """The generator's scalar loss from the discriminator's logits ``(n, 1)`` on fresh fakes."""
        ...


def _check_real_target(real_target: float) -> None:
    if not (isinstance(real_target, (int, float)) and 0.0 < real_target <= 1.0):
        raise ValueError(f"real_target must be in (0, 1]: 1.0, or 0.9 for one-sided label smoothing; "
                         f"got {real_target!r}.")


def d_loss_bce(
    logits_real: torch.Tensor, logits_fake: torch.Tensor, real_target: float = 1.0
) -> torch.Tensor:
    """Standard GAN discriminator loss: real images are 1, fakes are 0.

    Args:
        logits_real: discriminator logits on real images, shape ``(n, 1)`` or ``(n,)``.
        logits_fake: discriminator logits on generated images, same shape.
        real_target: target for real images; ``0.9`` is one-sided label smoothing,
            which keeps the discriminator from becoming over-confident.

    Returns:
        Scalar loss: the mean of the BCE on reals and the BCE on fakes.
    """
    _check_real_target(real_target)
    loss_real = F.binary_cross_entropy_with_logits(
        logits_real, torch.full_like(logits_real, real_target)
    )
    loss_fake = F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
    return (loss_real + loss_fake) / 2


def g_loss_bce(logits_fake: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: make the discriminator call fakes real.

    Args:
        logits_fake: discriminator logits on generated images, shape ``(n, 1)``.

    Returns:
        Scalar loss ``-mean(log sigmoid(logits_fake))``.
    """
    return F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))


@dataclass(frozen=True)
class BCELoss:
    """The standard GAN loss as an :class:`AdversarialLoss`: :func:`d_loss_bce` and :func:`g_loss_bce`.

    Args:
        real_target: target of real images in the discriminator's loss; 0.9 is one-sided label
            smoothing: the discriminator never becomes fully sure, so its gradients to the
            generator stay useful (fakes keep target 0: smoothing them would reward the fakes).
    """

    real_target: float = 1.0

    def __post_init__(self) -> None:
        _check_real_target(self.real_target)

    def d(self, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        """:func:`d_loss_bce` with this loss's ``real_target``."""
        return d_loss_bce(logits_real, logits_fake, self.real_target)

    def g(self, logits_fake: torch.Tensor) -> torch.Tensor:
        """:func:`g_loss_bce`."""
        return g_loss_bce(logits_fake)


def d_loss_wasserstein(critic_real: torch.Tensor, critic_fake: torch.Tensor) -> torch.Tensor:
    """WGAN critic loss: push scores of reals up and scores of fakes down.

    Args:
        critic_real: critic scores on real images, shape ``(n, 1)``.
        critic_fake: critic scores on generated images, shape ``(n, 1)``.

    Returns:
        Scalar ``mean(critic_fake) - mean(critic_real)`` (minimised by the critic).
    """
    return critic_fake.mean() - critic_real.mean()


def g_loss_wasserstein(critic_fake: torch.Tensor) -> torch.Tensor:
    """WGAN generator loss ``-mean(critic_fake)``."""
    return -critic_fake.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    x_real: torch.Tensor,
    x_fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``mean((||grad_x critic(x_hat)||_2 - 1)^2)``.

    ``x_hat`` mixes each real image with a fake one using its own weight
    ``eps ~ U(0, 1)`` (one weight per sample, shared by all its pixels), so the
    penalty samples the straight lines between the two distributions.

    Args:
        critic: maps images ``(n, C, H, W)`` to scores ``(n, 1)``.
        x_real: real images ``(n, C, H, W)``.
        x_fake: generated images, same shape; may or may not be detached.
        generator: optional ``torch.Generator`` for the mixing weights.

    Returns:
        Scalar penalty (not yet multiplied by lambda).
    """
    if x_real.shape != x_fake.shape:
        raise ValueError(
            f"x_real and x_fake must have the same shape, got {tuple(x_real.shape)} and "
            f"{tuple(x_fake.shape)}."
        )
    n = x_real.shape[0]
    eps = torch.rand(n, *([1] * (x_real.dim() - 1)), device=x_real.device,
                     generator=generator, dtype=x_real.dtype)
    x_hat = (eps * x_real + (1 - eps) * x_fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    # create_graph=True: the penalty itself is differentiated in the critic's backward.
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    grad_norm = grad.flatten(1).norm(2, dim=1)
    return ((grad_norm - 1) ** 2).mean()


def r1_penalty(logits_real: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
    """R1 penalty ``E ||grad_x D(x_real)||^2``: how steep the discriminator is on real images.

    R1 (Mescheder et al., 2018) adds ``gamma / 2 * r1_penalty`` to the discriminator's loss.
    A discriminator that stays flat on the real data cannot push the generator around with
    huge gradients, which damps the oscillations that make a fast-learning GAN collapse
    onto a few modes. Unlike the WGAN-GP :func:`gradient_penalty` it looks at real images
    only and pulls the gradient norm towards 0, not 1.

    Args:
        logits_real: the discriminator's logits ``(n, 1)`` on ``x_real``, computed after
            ``x_real.requires_grad_(True)`` (so that they can be differentiated by it).
        x_real: the real images ``(n, C, H, W)``, with ``requires_grad=True``.

    Returns:
        Scalar: the squared gradient norm of each image's logit, averaged over the batch
        (not yet multiplied by ``gamma / 2``).
    """
    if not x_real.requires_grad:
        raise ValueError(
            "r1_penalty needs x_real.requires_grad_(True) before the discriminator sees it: "
            "the penalty differentiates D's logits with respect to the images."
        )
    # Each logit depends only on its own image, so the gradient of their sum holds every
    # image's own gradient. create_graph=True: the penalty is differentiated again when
    # the discriminator's loss is (a "double backward").
    (grad,) = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def d_loss_mismatch(logits_wrong: torch.Tensor) -> torch.Tensor:
    """The "mismatch" loss of a conditional discriminator: a real image with a wrong label is fake.

    A conditional discriminator that only judges realism lets the generator ignore the
    class it was asked for. Showing it real images paired with wrong labels as fakes
    (Reed et al., 2016) forces it to check that image and label agree.

    Args:
        logits_wrong: the discriminator's logits ``(n, 1)`` on real images paired with
            labels that are not theirs (see :func:`ganlib.noise.mismatched_labels`).

    Returns:
        Scalar ``BCE(logits_wrong, 0) / 2``: half, like each of the two terms of :func:`d_loss_bce`.
    """
    return F.binary_cross_entropy_with_logits(logits_wrong, torch.zeros_like(logits_wrong)) / 2


def mode_seeking_loss(x_fake: torch.Tensor, z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The mode-seeking term of MSGAN (Mao et al., 2019): two noises of one class must give two images.

    A conditional generator can satisfy its class loss with one image per class and ignore the
    rest of its noise (mode collapse within a class). This term compares the two halves of a
    batch made from the same classes but different noise: it is small when the images differ
    as much as their noises do, and grows without bound as two images of one class become equal.

    Args:
        x_fake: generated images ``(2m, C, H, W)``; row ``i`` and row ``m + i`` share a class.
        z: the noise ``(2m, z_dim)`` that made them, in the same order.
        eps: keeps the ratio's inverse finite.

    Returns:
        Scalar: the mean over the ``m`` pairs of ``1 / (mean|x_i - x_{m+i}| / mean|z_i - z_{m+i}| + eps)``.
    """
    if x_fake.shape[0] != z.shape[0] or x_fake.shape[0] % 2:
        raise ValueError(f"mode_seeking_loss needs the same even number of images and noises (two halves of one "
                         f"batch), got {x_fake.shape[0]} images and {z.shape[0]} noises.")
    x1, x2 = x_fake.float().flatten(1).chunk(2)
    z1, z2 = z.float().flatten(1).chunk(2)
    ratio = (x1 - x2).abs().mean(1) / (z1 - z2).abs().mean(1)
    return (1.0 / (ratio + eps)).mean()
