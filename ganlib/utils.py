"""Device choice, seeding and small helpers shared by every notebook."""

from __future__ import annotations

import os
import random

import torch
from torch import nn


def get_device(prefer: str | None = None) -> torch.device:
    """Pick the fastest available device: cuda, then mps, then cpu.

    Args:
        prefer: optional device name ("cuda", "mps" or "cpu"); the environment
            variable ``GANLIB_DEVICE`` plays the same role when this is None.

    Returns:
        The chosen ``torch.device``.
    """
    name = prefer or os.environ.get("GANLIB_DEVICE")
    if name:
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(
                f"Unknown device {name!r}; use 'cuda', 'mps', 'cpu' (or e.g. 'cuda:1'), or "
                "None to pick the fastest one available."
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"Device {name!r} was requested but CUDA is not available here. "
                "Pass prefer=None (or unset GANLIB_DEVICE) to fall back to the CPU."
            )
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(
                f"Device {name!r} was requested but Apple MPS is not available here. "
                "Pass prefer=None (or unset GANLIB_DEVICE) to fall back to the CPU."
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, and torch (CPU and every GPU) so that a run can be repeated.

    Args:
        seed: any non-negative integer.

    Returns:
        A CPU ``torch.Generator`` seeded with ``seed``, handy for ``generator=`` arguments.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}.")
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
