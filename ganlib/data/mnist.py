"""MNIST as two tensors, from torchvision's files (downloaded on first use when online)."""

from __future__ import annotations

import os

import torch

from ganlib.data.paths import missing_message, resolve_data_root
from ganlib.data.scaling import Scale, scale_images


def load_mnist(
    root: str | os.PathLike | None = None,
    *,
    train: bool = True,
    scale: Scale = "tanh",
    download: bool = True,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load MNIST whole, as tensors.

    Args:
        root: data folder (see :func:`resolve_data_root`); it holds ``MNIST/raw/``.
        train: the 60,000 training images, or the 10,000 test images.
        scale: ``"unit"`` for [0, 1] or ``"tanh"`` for [-1, 1].
        download: let torchvision download the files when they are missing.
        device: where the tensors go.

    Returns:
        ``x`` of shape ``(N, 1, 28, 28)`` float32 and ``y`` of shape ``(N,)`` int64.
    """
    from torchvision.datasets import MNIST

    folder = resolve_data_root(root)
    try:
        dataset = MNIST(str(folder), train=train, download=False)
    except RuntimeError:
        if not download:
            raise FileNotFoundError(missing_message("MNIST", folder, "MNIST/raw/")) from None
        try:
            dataset = MNIST(str(folder), train=train, download=True)
        except Exception as error:  # no internet, proxy, disk full...
            raise FileNotFoundError(
                missing_message("MNIST", folder, "MNIST/raw/") + f" (download failed: {error})"
            ) from error
    x = dataset.data.unsqueeze(1).to(device=device, dtype=torch.float32) / 255.0
    y = dataset.targets.to(device=device, dtype=torch.int64)
    return scale_images(x, scale), y
