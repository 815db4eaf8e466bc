"""Input checks shared by the models: a wrong input fails with a message, not deep inside a layer.

The checks cost no device sync in the hot path of a GPU training loop: the finiteness of
the noise (one read-back) is checked on the CPU, and on an accelerator only outside
training mode (sampling, evaluation), where the noise usually comes from the learner.
Inside a training loop the noise is drawn by :func:`ganlib.noise.sample_z` and is finite.
"""

from __future__ import annotations

import torch
from torch import nn


def check_noise(z: torch.Tensor, z_dim: int, model: nn.Module | str) -> None:
    """Raise ``ValueError`` unless ``z`` is usable noise of shape ``(n, z_dim)`` for ``model``.

    Refused: anything but a floating point tensor; another shape; an empty batch (``n == 0``);
    a dtype other than the model's weights' (float64 noise into a float32 generator), except
    under autocast, which casts by itself; NaN or infinite values (an error, not a warning: a
    NaN image would otherwise flow silently into plots and metrics). The finiteness check is
    skipped for accelerator tensors in training mode and inside ``torch.compile``, where it
    would cost a device sync per step.

    Args:
        z: the noise ``(n, z_dim)``.
        z_dim: the model's noise length.
        model: the generator (its name, dtype and mode are read from it), or just its name.
    """
    name = model if isinstance(model, str) else type(model).__name__
    if not isinstance(z, torch.Tensor) or not z.is_floating_point():
        raise ValueError(f"{name} expects a float noise tensor, got {_describe(z)}.")
    if z.dim() != 2 or z.shape[1] != z_dim:
        raise ValueError(
            f"{name} expects noise of shape (batch, {z_dim}), got {tuple(z.shape)}; "
            f"draw it with ganlib.noise.sample_z(batch, {z_dim})."
        )
    if z.shape[0] == 0:
        raise ValueError(f"{name} got an empty batch of noise, shape {tuple(z.shape)}; pass at least one row.")
    if isinstance(model, str):
        return
    weight = next(model.parameters(), None)
    if weight is not None and z.dtype != weight.dtype and not torch.is_autocast_enabled(z.device.type):
        raise ValueError(
            f"{name} has {weight.dtype} weights but got {z.dtype} noise; pass z.to({weight.dtype}) "
            f"(ganlib.noise.sample_z draws {torch.get_default_dtype()} noise)."
        )
    if torch.compiler.is_compiling() or (model.training and z.device.type != "cpu"):
        return
    if not bool(torch.isfinite(z).all()):
        bad = int((~torch.isfinite(z)).any(dim=1).sum())
        raise ValueError(
            f"{name} got noise with NaN or infinite values in {bad} of {z.shape[0]} rows; "
            "its images would be NaN. Check how the noise was computed (e.g. a division by zero "
            "in an interpolation), or draw it with ganlib.noise.sample_z."
        )


def check_images(x: torch.Tensor, shape: tuple[int, ...], model: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a non-empty float batch whose per-image shape is ``shape``."""
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"{model} expects a float image tensor, got {_describe(x)}.")
    if tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"{model} expects images of shape (batch, {', '.join(map(str, shape))}), "
            f"got {tuple(x.shape)}."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{model} got an empty batch of images, shape {tuple(x.shape)}; pass at least one.")


def _describe(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__
