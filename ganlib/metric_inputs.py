"""Input checks shared by the metrics: one clear error before any feature or distance is computed."""

from __future__ import annotations

import torch


def check_images(images: torch.Tensor, name: str = "images") -> None:
    if not isinstance(images, torch.Tensor) or not images.is_floating_point() or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a float tensor of shape (n, C, H, W), got {shape}.")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one image.")
    check_finite(images, name, "images")


def check_features(feats: torch.Tensor, name: str, min_rows: int = 2) -> None:
    if not isinstance(feats, torch.Tensor) or feats.dim() != 2:
        shape = tuple(feats.shape) if isinstance(feats, torch.Tensor) else type(feats).__name__
        raise ValueError(f"{name} must be a 2-D tensor of shape (n, d), got {shape}.")
    if feats.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} rows, got {feats.shape[0]}.")
    check_finite(feats, name, "rows")


def check_finite(values: torch.Tensor, name: str, what: str) -> None:
    """One clear error for NaN or infinite inputs, before any feature or distance is computed."""
    bad = ~torch.isfinite(values.detach()).flatten(1).all(dim=1)
    if bool(bad.any()):
        raise ValueError(
            f"{name} holds NaN or infinite values in {int(bad.sum())} of {values.shape[0]} {what}; no metric "
            "is computed on them. A generator that outputs NaN has usually diverged: check its losses, "
            "restart from its last good checkpoint with a lower learning rate, or check the noise it was given."
        )
