"""Image value ranges: [0, 1] (``"unit"``, sigmoid generators) and [-1, 1] (``"tanh"``)."""

from __future__ import annotations

from typing import Literal

import torch

Scale = Literal["unit", "tanh"]


def scale_images(x01: torch.Tensor, scale: Scale) -> torch.Tensor:
    """Map images from [0, 1] to the range a generator's output layer produces.

    Args:
        x01: images in [0, 1], any shape.
        scale: ``"unit"`` keeps [0, 1] (sigmoid generators); ``"tanh"`` maps to [-1, 1].

    Returns:
        Tensor of the same shape.
    """
    if scale == "unit":
        return x01
    if scale == "tanh":
        return x01 * 2 - 1
    raise ValueError(f"scale must be 'unit' (for [0, 1]) or 'tanh' (for [-1, 1]), got {scale!r}.")


def to_unit_range(x: torch.Tensor, scale: Scale) -> torch.Tensor:
    """Inverse of :func:`scale_images`: bring images back to [0, 1] for display or metrics."""
    if scale == "unit":
        return x.clamp(0, 1)
    if scale == "tanh":
        return ((x + 1) / 2).clamp(0, 1)
    raise ValueError(f"scale must be 'unit' or 'tanh', got {scale!r}.")
