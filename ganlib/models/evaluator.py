"""A small classifier whose penultimate layer serves as the feature space of the metrics.

FID uses an ImageNet Inception network, which cannot be downloaded offline and knows
nothing about digits. Instead the course trains a small CNN on the real training set of
each data set (MNIST now, CIFAR-10 later with ``image_channels=3, image_size=32``) and
measures distances between sets of its global-average-pooled features, the same place
(pool3) FID reads Inception. Its class predictions also grade conditional generators.

Shapes (MNIST, width 16): 28x28x1 -> conv -> pool -> 14x14x16 -> two convs -> pool ->
7x7x32 -> two convs -> 7x7x64 -> global average -> 64 features -> 10 logits. It is kept
small on purpose: it trains in minutes on a CPU and still reaches >= 99 % test accuracy.
"""

from __future__ import annotations

import torch
from torch import nn

from ganlib.models._checks import check_images


def conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """Conv2d(3, padding 1) -> BatchNorm2d -> ReLU: keeps the spatial size."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class Evaluator(nn.Module):
    """CNN classifier for images in [0, 1]; ``features`` gives its penultimate layer.

    Args:
        image_channels: 1 for MNIST, 3 for CIFAR-10.
        image_size: height = width of the input (28 for MNIST, 32 for CIFAR-10).
        num_classes: number of classes.
        width: channels of the first stage; the stages have 1x, 2x, 4x this many.
    """

    def __init__(self, image_channels: int = 1, image_size: int = 28, num_classes: int = 10,
                 width: int = 16) -> None:
        super().__init__()
        self.image_channels, self.image_size, self.num_classes = image_channels, image_size, num_classes
        self.feature_dim = width * 4
        self.body = nn.Sequential(
            conv_bn_relu(image_channels, width),
            nn.MaxPool2d(2),
            conv_bn_relu(width, width * 2),
            conv_bn_relu(width * 2, width * 2),
            nn.MaxPool2d(2),
            conv_bn_relu(width * 2, width * 4),
            conv_bn_relu(width * 4, width * 4),
            nn.AdaptiveAvgPool2d(1),  # any input size works; the features are per image
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, H, W)`` in [0, 1]. Returns: features ``(n, feature_dim)``."""
        check_images(x, (self.image_channels, self.image_size, self.image_size), type(self).__name__)
        return self.body(x * 2 - 1)  # centre the pixels; the convs see [-1, 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, H, W)`` in [0, 1]. Returns: class logits ``(n, num_classes)``."""
        return self.head(self.dropout(self.features(x)))


class Residual(nn.Module):
    """``x + block(x)``: the block must keep the shape."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResidualEvaluator(nn.Module):
    """CIFAR-10 evaluator: a nine-layer residual CNN with BatchNorm, for images in [0, 1].

    It is built unlike :class:`ganlib.models.ACGANCritic` on purpose (BatchNorm instead of
    LayerNorm, ReLU instead of LeakyReLU, residual blocks, pooling instead of strides,
    widths that grow with depth), so that a GAN trained against the critic is never graded
    by a network that thinks like it.

    Shapes (width 32): 32x32x3 -> conv -> 32x32x32 -> conv, pool -> 16x16x64 -> residual
    (two convs) -> conv, pool -> 8x8x128 -> conv, pool -> 4x4x256 -> residual -> global
    max -> 256 features -> 10 logits.

    Args:
        image_channels: 3 for CIFAR-10.
        image_size: 32 (any size divisible by 8 works).
        num_classes: number of classes.
        width: channels of the first layer; the stages have 2x, 4x and 8x this many.
        mirror_average: in eval mode, average the features (and so the logits, the head being
            linear) of each image and its mirror image: a left-right flip never changes a
            CIFAR-10 class, and two views judge more steadily than one (89.95 % -> 90.58 % test
            accuracy for the shipped evaluator, at twice the cost). Training is unchanged.
    """

    def __init__(self, image_channels: int = 3, image_size: int = 32, num_classes: int = 10,
                 width: int = 32, mirror_average: bool = False) -> None:
        super().__init__()
        self.image_channels, self.image_size, self.num_classes = image_channels, image_size, num_classes
        self.mirror_average = mirror_average
        self.feature_dim = width * 8
        w1, w2, w3 = width * 2, width * 4, width * 8

        def residual(channels: int) -> Residual:
            return Residual(nn.Sequential(conv_bn_relu(channels, channels), conv_bn_relu(channels, channels)))

        self.body = nn.Sequential(
            conv_bn_relu(image_channels, width),
            conv_bn_relu(width, w1), nn.MaxPool2d(2), residual(w1),
            conv_bn_relu(w1, w2), nn.MaxPool2d(2),
            conv_bn_relu(w2, w3), nn.MaxPool2d(2), residual(w3),
            nn.AdaptiveMaxPool2d(1),  # the strongest response of each channel, anywhere
            nn.Flatten(),
        )
        self.head = nn.Linear(self.feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, H, W)`` in [0, 1]. Returns: features ``(n, feature_dim)``."""
        check_images(x, (self.image_channels, self.image_size, self.image_size), type(self).__name__)
        if self.mirror_average and not self.training:
            return (self.body(x * 2 - 1) + self.body(x.flip(-1) * 2 - 1)) / 2
        return self.body(x * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Args: x ``(n, C, H, W)`` in [0, 1]. Returns: class logits ``(n, num_classes)``."""
        return self.head(self.features(x))
