"""Data sets as tensors, and a fast batch iterator that never leaves the device.

MNIST and CIFAR-10 are small enough to hold whole in memory (accelerator memory included),
so instead of a ``DataLoader`` that decodes and copies every batch from the CPU, the course
loads each data set once into one tensor and draws shuffled batches by indexing it.

One module per topic: ``paths`` (where the data is), ``scaling`` ([0, 1] or [-1, 1]),
``batches`` (:class:`TensorBatches`), and one module per data set (``mnist``, ``cifar10``).
"""

from __future__ import annotations

import os

import torch

from ganlib.data import cifar10
from ganlib.data.batches import TensorBatches
from ganlib.data.cifar10 import CIFAR10_CLASSES, load_cifar10
from ganlib.data.mnist import load_mnist
from ganlib.data.paths import DATA_ENV_VAR, resolve_data_root
from ganlib.data.scaling import Scale, scale_images, to_unit_range

DATASETS = ("mnist", "cifar10")

__all__ = [
    "CIFAR10_CLASSES", "DATASETS", "DATA_ENV_VAR", "Scale", "TensorBatches", "dataset_key", "load_cifar10",
    "load_dataset", "load_mnist", "resolve_data_root", "scale_images", "to_unit_range",
]


def dataset_key(name: str) -> str:
    """The canonical name of a course data set: ``"MNIST"`` -> ``"mnist"``, ``"CIFAR-10"`` -> ``"cifar10"``.

    Raises:
        ValueError: the name is none of :data:`DATASETS`.
    """
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key not in DATASETS:
        raise ValueError(
            f"Unknown data set {name!r}; choose one of {', '.join(map(repr, DATASETS))}. "
            "For your own images, load them into a tensor and use TensorBatches directly."
        )
    return key


def load_dataset(name: str, root: str | os.PathLike | None = None, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one of the course's data sets by name.

    Args:
        name: ``"mnist"`` (1x28x28) or ``"cifar10"`` (3x32x32); case does not matter.
        root: data folder (see :func:`resolve_data_root`).
        **kwargs: passed on to :func:`load_mnist` or :func:`load_cifar10`
            (``train=``, ``scale=``, ``download=``, ``device=``).

    Returns:
        ``x`` of shape ``(N, C, H, W)`` float32 and ``y`` of shape ``(N,)`` int64.
    """
    if dataset_key(name) == "mnist":
        return load_mnist(root, **kwargs)
    return cifar10.load_cifar10(root, **kwargs)
