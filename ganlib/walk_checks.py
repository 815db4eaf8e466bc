"""Input checks of the walks in :mod:`ganlib.interpolation`: fractions, classes, methods, eval mode."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

Fractions = float | Sequence[float] | torch.Tensor


def check_fractions(fractions: Fractions) -> torch.Tensor:
    """Turn one fraction or a sequence of them into a 1-D float tensor, each in [0, 1].

    Args:
        fractions: a float, a list of floats or a 1-D tensor.

    Returns:
        Float64 tensor of shape ``(k,)`` on the CPU (``k = 1`` for a single float).
    """
    values = torch.as_tensor(fractions, dtype=torch.float64).detach().cpu().reshape(-1)
    if values.numel() == 0:
        raise ValueError("fractions is empty: give at least one value in [0, 1], e.g. 0.5.")
    if torch.isnan(values).any() or values.min() < 0 or values.max() > 1:
        raise ValueError(
            f"fractions must lie in [0, 1] (0 = start, 1 = end), got {values.tolist()}; "
            "use e.g. torch.linspace(0, 1, 8)."
        )
    return values


def check_class(value: int, num_classes: int, name: str) -> int:
    """``value`` as an int class index in ``0..num_classes-1``, else a ``ValueError`` naming ``name``."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < num_classes:
        raise ValueError(f"{name} must be an int class index in 0..{num_classes - 1}, got {value!r}.")
    return value


def check_method(method: str, allowed: tuple[str, ...]) -> None:
    """Raise a ``ValueError`` unless ``method`` is one of ``allowed``."""
    if method not in allowed:
        raise ValueError(f"method must be one of {allowed}, got {method!r}.")


def check_eval_mode(G: nn.Module) -> None:
    """Raise a ``ValueError`` when ``G`` is in training mode."""
    # In training mode BatchNorm normalises with the batch's own statistics, so each
    # frame would depend on the other frames in the batch: the walk would not be a walk.
    if G.training:
        raise ValueError(
            "the generator is in training mode; call G.eval() first so that "
            "BatchNorm uses its running statistics and every frame is independent."
        )


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter."""
    return next(module.parameters()).device


def conditional_classes(G: nn.Module) -> int:
    """``G.num_classes`` of a conditional generator, else a ``ValueError`` that says which generators fit."""
    num_classes = getattr(G, "num_classes", None)
    if not isinstance(num_classes, int):
        raise ValueError(
            f"{type(G).__name__} is not a conditional generator (no num_classes); "
            "use a OneHotConditionalGenerator, an EmbeddingConditionalGenerator or an ACGAN "
            "generator wrapped in ganlib.acgan_training.LabelledGenerator."
        )
    return num_classes
