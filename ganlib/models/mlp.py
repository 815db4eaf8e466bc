"""Fully connected GAN for 28x28 images (notebook 01).

Generator: four Linear-BatchNorm1d-ReLU blocks widening 128 -> 1024, then a Linear to
784 pixels and a sigmoid, so images live in [0, 1]. Discriminator: Linear-LeakyReLU(0.2)
blocks narrowing 512 -> 128 and one output logit (no sigmoid: the loss works on logits).
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.models._checks import check_images, check_noise


def generator_block(in_features: int, out_features: int) -> nn.Sequential:
    """Linear -> BatchNorm1d -> ReLU: one widening step of the MLP generator."""
    return nn.Sequential(
        nn.Linear(in_features, out_features),
        nn.BatchNorm1d(out_features),
        nn.ReLU(inplace=True),
    )


def discriminator_block(in_features: int, out_features: int) -> nn.Sequential:
    """Linear -> LeakyReLU(0.2): one narrowing step of the MLP discriminator."""
    return nn.Sequential(nn.Linear(in_features, out_features), nn.LeakyReLU(0.2, inplace=True))


class MLPGenerator(nn.Module):
    """Maps noise ``(n, z_dim)`` to images ``(n, 1, 28, 28)`` in [0, 1].

    Args:
        z_dim: noise length (64 in the course).
        image_shape: ``(C, H, W)`` of the output images.
        hidden_dim: width of the first block; the blocks are 1x, 2x, 4x, 8x this.
    """

    def __init__(
        self, z_dim: int = 64, image_shape: tuple[int, int, int] = (1, 28, 28), hidden_dim: int = 128
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        im_dim = int(torch.tensor(image_shape).prod())
        self.net = nn.Sequential(
            generator_block(z_dim, hidden_dim),
            generator_block(hidden_dim, hidden_dim * 2),
            generator_block(hidden_dim * 2, hidden_dim * 4),
            generator_block(hidden_dim * 4, hidden_dim * 8),
            nn.Linear(hidden_dim * 8, im_dim),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``. Returns: images ``(n, C, H, W)`` in [0, 1].

        Raises ValueError for noise of another shape or dtype, an empty batch, or NaN or
        infinite noise (see :func:`ganlib.models._checks.check_noise`).
        """
        check_noise(z, self.z_dim, self)
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Maps images ``(n, 1, 28, 28)`` to one real/fake logit each, ``(n, 1)``.

    Args:
        image_shape: ``(C, H, W)`` of the input images.
        hidden_dim: width of the last block; the blocks are 4x, 2x, 1x this.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), hidden_dim: int = 128) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        im_dim = int(torch.tensor(image_shape).prod())
        self.net = nn.Sequential(
            discriminator_block(im_dim, hidden_dim * 4),
            discriminator_block(hidden_dim * 4, hidden_dim * 2),
            discriminator_block(hidden_dim * 2, hidden_dim),
            nn.Linear(hidden_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, H, W)``. Returns: logits ``(n, 1)``."""
        check_images(x, self.image_shape, "MLPDiscriminator")
        return self.net(x.flatten(1))
