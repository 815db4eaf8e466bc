"""Input checks shared by the models: a wrong shape fails with a message, not deep inside a layer."""

from __future__ import annotations

import torch


def check_noise(z: torch.Tensor, z_dim: int, model: str) -> None:
    """Raise ``ValueError`` unless ``z`` is a float tensor of shape ``(n, z_dim)``."""
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise ValueError(f"{model} expects a float noise tensor, got {_describe(z)}.")
    if z.dim() != 2 or z.shape[1] != z_dim:
        raise ValueError(
            f"{model} expects noise of shape (batch, {z_dim}), got {tuple(z.shape)}; "
            f"draw it with ganlib.noise.sample_z(batch, {z_dim})."
        )


def check_images(x: torch.Tensor, shape: tuple[int, ...], model: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a float batch whose per-image shape is ``shape``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{model} expects a float image tensor, got {_describe(x)}.")
    if tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{model} expects images of shape (batch, {', '.join(map(str, shape))}), "
            f"got {tuple(x.shape)}."
        )


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
