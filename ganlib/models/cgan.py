"""Conditional DCGANs for MNIST (notebook 03): two ways to tell the networks the class.

One-hot conditioning (Mirza & Osindero): the generator reads ``[z, one_hot(y)]``; the
discriminator reads the image plus ``num_classes`` constant channels, channel ``y`` all
ones and the rest zeros.

Label-embedding conditioning: the generator multiplies ``z`` element-wise by a learned
embedding of ``y``; the discriminator gets a learned 28x28 "class image" as one extra
channel. Both variants reuse the DCGAN blocks of :mod:`ganlib.models.dcgan`.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.models._checks import check_images, check_noise
from ganlib.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganlib.noise import check_labels, one_hot


def class_maps(labels: torch.Tensor, num_classes: int, height: int, width: int) -> torch.Tensor:
    """One-hot class maps: ``(n,)`` labels to ``(n, num_classes, height, width)`` planes."""
    return one_hot(labels, num_classes)[:, :, None, None].expand(-1, -1, height, width)


class OneHotConditionalGenerator(nn.Module):
    """Generator ``G(z, y)`` fed ``[z, one_hot(y)]``.

    Args:
        z_dim: noise length (64 in the course).
        num_classes: number of classes (10 for MNIST).
        image_channels, hidden_dim: as in :class:`DCGANGenerator`.
    """

    def __init__(self, z_dim: int = 64, num_classes: int = 10, image_channels: int = 1,
                 hidden_dim: int = 64) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.body = DCGANGenerator(z_dim + num_classes, image_channels, hidden_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``, labels ``(n,)``. Returns: images ``(n, C, 28, 28)``.

        Raises ValueError for noise of another shape or dtype, an empty batch, or NaN or
        infinite noise (see :func:`ganlib.models._checks.check_noise`).
        """
        check_noise(z, self.z_dim, self)
        _check_batch(z, labels)
        return self.body(torch.cat([z, one_hot(labels, self.num_classes).to(z.dtype)], dim=1))


class OneHotConditionalDiscriminator(nn.Module):
    """Discriminator ``D(x, y)`` fed the image stacked with ``num_classes`` one-hot planes.

    Args:
        num_classes: number of classes.
        image_channels, hidden_dim: as in :class:`DCGANDiscriminator`.
    """

    def __init__(self, num_classes: int = 10, image_channels: int = 1, hidden_dim: int = 64) -> None:
        super().__init__()
        self.num_classes, self.image_channels = num_classes, image_channels
        self.body = DCGANDiscriminator(image_channels + num_classes, hidden_dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, 28, 28)``, labels ``(n,)``. Returns: logits ``(n, 1)``."""
        check_images(x, (self.image_channels, 28, 28), type(self).__name__)
        _check_batch(x, labels)
        maps = class_maps(labels, self.num_classes, 28, 28).to(x.dtype)
        return self.body(torch.cat([x, maps], dim=1))


class EmbeddingConditionalGenerator(nn.Module):
    """Generator ``G(z * embed(y))``: the class scales each noise dimension.

    Args:
        z_dim: noise length; the embedding has the same length.
        num_classes: number of classes.
        image_channels, hidden_dim: as in :class:`DCGANGenerator`.
    """

    def __init__(self, z_dim: int = 64, num_classes: int = 10, image_channels: int = 1,
                 hidden_dim: int = 64) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.label_embedding = nn.Embedding(num_classes, z_dim)
        self.body = DCGANGenerator(z_dim, image_channels, hidden_dim)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``, labels ``(n,)``. Returns: images ``(n, C, 28, 28)``.

        Raises ValueError for noise of another shape or dtype, an empty batch, or NaN or
        infinite noise (see :func:`ganlib.models._checks.check_noise`).
        """
        check_noise(z, self.z_dim, self)
        _check_batch(z, labels)
        check_labels(labels, self.num_classes)
        return self.body(z * self.label_embedding(labels.long()))


class EmbeddingConditionalDiscriminator(nn.Module):
    """Discriminator ``D([x, embed(y) as an image])``: one learned 28x28 plane per class.

    Args:
        num_classes: number of classes.
        image_channels, hidden_dim: as in :class:`DCGANDiscriminator`.
    """

    def __init__(self, num_classes: int = 10, image_channels: int = 1, hidden_dim: int = 64) -> None:
        super().__init__()
        self.num_classes, self.image_channels = num_classes, image_channels
        self.label_embedding = nn.Embedding(num_classes, 28 * 28)
        self.body = DCGANDiscriminator(image_channels + 1, hidden_dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, 28, 28)``, labels ``(n,)``. Returns: logits ``(n, 1)``."""
        check_images(x, (self.image_channels, 28, 28), type(self).__name__)
        _check_batch(x, labels)
        check_labels(labels, self.num_classes)
        plane = self.label_embedding(labels.long()).view(-1, 1, 28, 28).to(x.dtype)
        return self.body(torch.cat([x, plane], dim=1))


def _check_batch(inputs: torch.Tensor, labels: torch.Tensor) -> None:
    if isinstance(labels, torch.Tensor) and labels.shape[:1] != inputs.shape[:1]:
        raise ValueError(
            f"labels must have one entry per sample: got {labels.shape[0] if labels.dim() else 0} "
            f"labels for a batch of {inputs.shape[0]}."
        )
