"""Data augmentation on whole batches, on the device the batch lives on.

A CPU ``DataLoader`` with per-image transforms is the usual bottleneck when CIFAR-10 is
trained on a GPU. Here a batch that already sits on the GPU is cropped and flipped there
with one ``gather``: every image gets its own random offset and flip, drawn from a
``torch.Generator`` so that runs repeat.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

PadMode = Literal["constant", "reflect", "replicate"]


def random_crop_flip(
    x: torch.Tensor,
    *,
    padding: int = 4,
    flip: bool = True,
    padding_mode: PadMode = "constant",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pad each image, cut a random ``H x W`` window out of it, and mirror half of them.

    Args:
        x: images ``(n, C, H, W)``, any float dtype, on any device.
        padding: pixels added on each side before cropping (0: no crop, flip only).
        flip: mirror each image left-right with probability 1/2.
        padding_mode: ``"constant"`` (zeros: mid-grey for [-1, 1] images), ``"reflect"``
            or ``"replicate"``.
        generator: optional ``torch.Generator`` on ``x.device``.

    Returns:
        Augmented images, same shape, dtype and device as ``x``.
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a batch of images (n, C, H, W), got {shape}.")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int (4 is usual for CIFAR-10), got {padding!r}.")
    n, c, h, w = x.shape
    if padding == 0 and not flip:
        return x
    p = padding
    padded = F.pad(x, (p, p, p, p), mode=padding_mode) if p else x
    dy = torch.randint(0, 2 * p + 1, (n, 1), device=x.device, generator=generator)
    dx = torch.randint(0, 2 * p + 1, (n, 1), device=x.device, generator=generator)
    rows = dy + torch.arange(h, device=x.device)  # (n, h): source row of each output row
    cols = torch.arange(w, device=x.device).expand(n, w)
    if flip:
        mirror = torch.rand(n, 1, device=x.device, generator=generator) < 0.5
        cols = torch.where(mirror, (w - 1) - cols, cols)  # read the columns backwards
    cols = dx + cols  # (n, w): source column of each output column
    wide = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * p))
    return wide.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_flip(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2 (the only augmentation a GAN here uses).

    Args:
        x: images ``(n, C, H, W)``.
        generator: optional ``torch.Generator`` on ``x.device``.

    Returns:
        Images of the same shape.
    """
    return random_crop_flip(x, padding=0, flip=True, generator=generator)
