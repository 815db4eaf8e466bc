"""The CIFAR-10 networks of notebook 04: a 196-channel critic with a classifier head, and its generator.

Critic (also a plain classifier): eight 3x3 convolutions of 196 channels. Strides
1,2,1,2,1,1,1,2 take 32x32 down to 4x4; every conv is followed by a LayerNorm over
(C, H, W) and a LeakyReLU. A 4x4 max-pool leaves one 196-vector per image, read by two
heads: ``fc1`` (the Wasserstein critic score) and ``fc10`` (class logits).

Why LayerNorm and not BatchNorm: the WGAN-GP penalty needs the gradient of each
sample's score with respect to *that sample alone*. BatchNorm mixes the samples of a
batch (each output depends on the batch mean), so the per-sample gradient would be
wrong; LayerNorm normalises each image on its own.

Generator: ``fc`` 128 -> 196x4x4, then transposed convs (kernel 4, stride 2, padding 1:
4->8->16->32) and 3x3 convs, with BatchNorm and ReLU, and a final 3x3 conv to 3
channels with tanh, so images lie in [-1, 1].

Narrower models for a CPU: ``width`` is one channel count for every layer (196 in the
course), or four counts for the layers that work at 4x4, 8x8, 16x16 and 32x32 pixels.
Most of the arithmetic happens at high resolution (a 3x3 conv at 16x16 costs four times
one at 8x8), so shrinking only the high-resolution layers saves the most time for the
least capacity. With one int the layer names and shapes are exactly the course's.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ganlib.models._checks import check_images, check_noise

WIDTH = 196  # channels of every hidden layer, as in the UIUC ACGAN/WGAN-GP assignment
RESOLUTIONS = (4, 8, 16, 32)  # the sizes a per-resolution `width` tuple refers to, in order
CRITIC_STRIDES = (1, 2, 1, 2, 1, 1, 1, 2)  # 32 -> 32, 16, 16, 8, 8, 8, 8, 4


def widths_by_resolution(width: int | Sequence[int]) -> dict[int, int]:
    """``{4: c4, 8: c8, 16: c16, 32: c32}`` from one int or four ints (channels at 4, 8, 16, 32 px)."""
    counts = [width] * len(RESOLUTIONS) if isinstance(width, int) else list(width)
    if len(counts) != len(RESOLUTIONS) or not all(isinstance(c, int) and c > 0 for c in counts):
        raise ValueError(
            f"width must be a positive int or four positive ints (channels at {RESOLUTIONS} pixels), got {width!r}."
        )
    return dict(zip(RESOLUTIONS, counts))


class ACGANCritic(nn.Module):
    """Critic + classifier ``D(x) -> (score, class logits)`` for 32x32 RGB images.

    Args:
        num_classes: classes of the ``fc10`` head (10 for CIFAR-10).
        width: channels of each conv layer (196 in the course), or four counts for the
            layers whose output is 4x4, 8x8, 16x16 and 32x32 pixels.
        negative_slope: slope of the LeakyReLU for negative inputs.
    """

    def __init__(self, num_classes: int = 10, width: int | Sequence[int] = WIDTH,
                 negative_slope: float = 0.1) -> None:
        super().__init__()
        self.num_classes = num_classes
        channels = widths_by_resolution(width)
        layers: list[nn.Module] = []
        size, in_channels = 32, 3
        for stride in CRITIC_STRIDES:
            size //= stride
            out_channels = channels[size]
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1),
                # Normalise each image over all of (C, H, W): no statistic crosses samples.
                nn.LayerNorm([out_channels, size, size]),
                nn.LeakyReLU(negative_slope),
            ]
            in_channels = out_channels
        layers.append(nn.MaxPool2d(kernel_size=4, stride=4))  # 4x4 -> 1x1
        self.features = nn.Sequential(*layers)
        self.fc1 = nn.Linear(in_channels, 1)
        self.fc10 = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x ``(n, 3, 32, 32)`` in [-1, 1]. Returns: score ``(n, 1)``, logits ``(n, num_classes)``."""
        check_images(x, (3, 32, 32), type(self).__name__)
        h = self.features(x).flatten(1)
        return self.fc1(h), self.fc10(h)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Only the critic score ``(n, 1)``: the function the gradient penalty differentiates."""
        return self.forward(x)[0]


class ACGANGenerator(nn.Module):
    """Generator ``G(z) -> (n, 3, 32, 32)`` in [-1, 1]; the class is written into ``z``.

    Args:
        z_dim: noise length (128); its first ``num_classes`` entries carry the one-hot
            class (see :func:`ganlib.acgan_training.class_noise`).
        width: channels of the hidden layers (196), or four counts for the layers whose
            output is 4x4, 8x8, 16x16 and 32x32 pixels.
    """

    def __init__(self, z_dim: int = 128, width: int | Sequence[int] = WIDTH) -> None:
        super().__init__()
        channels = widths_by_resolution(width)
        self.z_dim, self.width = z_dim, width
        self.fc = nn.Sequential(nn.Linear(z_dim, channels[4] * 4 * 4), nn.BatchNorm1d(channels[4] * 4 * 4), nn.ReLU())

        def block(layer: nn.Module, out_channels: int) -> list[nn.Module]:
            return [layer, nn.BatchNorm2d(out_channels), nn.ReLU()]

        def up(size: int) -> list[nn.Module]:  # size/2 -> size: (H - 1) * 2 - 2 * 1 + 4 = 2H
            return block(nn.ConvTranspose2d(channels[size // 2], channels[size], kernel_size=4, stride=2, padding=1),
                         channels[size])

        def same(size: int) -> list[nn.Module]:
            return block(nn.Conv2d(channels[size], channels[size], kernel_size=3, padding=1), channels[size])

        self.body = nn.Sequential(
            *up(8), *same(8), *same(8), *same(8),
            *up(16), *same(16),
            *up(32),
            nn.Conv2d(channels[32], 3, kernel_size=3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``. Returns: images ``(n, 3, 32, 32)`` in [-1, 1].

        Raises ValueError for noise of another shape or dtype, an empty batch, or NaN or
        infinite noise (see :func:`ganlib.models._checks.check_noise`).
        """
        check_noise(z, self.z_dim, self)
        h = self.fc(z).view(z.shape[0], -1, 4, 4)
        return self.body(h)
