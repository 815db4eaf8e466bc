"""Deep convolutional GAN for 28x28 images (notebook 02), in the DCGAN paper's style.

Spatial sizes of the generator: 1 -> 3 -> 6 -> 13 -> 28 (transposed convolutions);
the discriminator runs them back: 28 -> 13 -> 5 -> 1 (strided convolutions).
BatchNorm everywhere but the generator's output and the discriminator's head, ReLU in
the generator, LeakyReLU(0.2) in the discriminator, tanh output for data in [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.models._checks import check_images, check_noise


def up_block(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> nn.Sequential:
    """ConvTranspose2d -> BatchNorm2d -> ReLU: one upsampling step of the generator."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


NORMS = ("batch", "image")


def down_block(in_channels: int, out_channels: int, norm: str = "batch") -> nn.Sequential:
    """Conv2d(4, stride 2) -> BatchNorm2d (or a per-image norm, see ``DCGANDiscriminator``) -> LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2),
        nn.BatchNorm2d(out_channels) if norm == "batch" else nn.GroupNorm(1, out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    )


class DCGANGenerator(nn.Module):
    """Maps noise ``(n, z_dim)`` to images ``(n, image_channels, 28, 28)`` in [-1, 1].

    Args:
        z_dim: length of the input vector (noise, or noise plus a class code).
        image_channels: channels of the output images (1 for MNIST).
        hidden_dim: base width; the blocks have 4x, 2x, 1x this many channels.
    """

    def __init__(self, z_dim: int = 64, image_channels: int = 1, hidden_dim: int = 64) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            up_block(z_dim, hidden_dim * 4, kernel_size=3, stride=2),  # 1 -> 3
            up_block(hidden_dim * 4, hidden_dim * 2, kernel_size=4, stride=1),  # 3 -> 6
            up_block(hidden_dim * 2, hidden_dim, kernel_size=3, stride=2),  # 6 -> 13
            nn.ConvTranspose2d(hidden_dim, image_channels, kernel_size=4, stride=2),  # 13 -> 28
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``. Returns: images ``(n, C, 28, 28)`` in [-1, 1].

        Raises ValueError for noise of another shape or dtype, an empty batch, or NaN or
        infinite noise (see :func:`ganlib.models._checks.check_noise`).
        """
        check_noise(z, self.z_dim, self)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """Maps images ``(n, image_channels, 28, 28)`` to one real/fake logit each, ``(n, 1)``.

    Args:
        image_channels: channels of the input (1 for MNIST; more when class maps are
            stacked on as extra channels, as the conditional GAN does).
        hidden_dim: base width; the blocks have 1x and 2x this many channels.
        norm: ``"batch"`` (the DCGAN paper's BatchNorm, the course's model) or ``"image"``:
            ``GroupNorm(1, C)``, which normalises each image over its own channels and positions.
            With BatchNorm a score depends on the other images of the batch (and the real and
            the fake batches are normalised separately); per-image scores also make the R1
            penalty, a per-image gradient, exact. Measured on MNIST: BatchNorm's discriminator wins the
            first 1,500-2,500 steps of a short run, the per-image one does not stall
            (``benchmarks/README.md``).
    """

    def __init__(self, image_channels: int = 1, hidden_dim: int = 64, norm: str = "batch") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}.")
        self.image_channels, self.norm = image_channels, norm
        self.net = nn.Sequential(
            down_block(image_channels, hidden_dim, norm),  # 28 -> 13
            down_block(hidden_dim, hidden_dim * 2, norm),  # 13 -> 5
            nn.Conv2d(hidden_dim * 2, 1, kernel_size=4, stride=2),  # 5 -> 1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, 28, 28)``. Returns: logits ``(n, 1)``."""
        check_images(x, (self.image_channels, 28, 28), type(self).__name__)
        return self.net(x).flatten(1)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0.

    Use as ``model.apply(init_dcgan_weights)``. The BatchNorm scale is centred on 1 (as in
    the DCGAN paper) rather than 0: a scale near 0 would start every block nearly silent.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
