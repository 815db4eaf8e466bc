"""Data sets as tensors, and a fast batch iterator that never leaves the device.

MNIST and CIFAR-10 are small enough to hold whole in memory (GPU memory included), so
instead of a ``DataLoader`` that decodes and copies every batch from the CPU, the course
loads each data set once into one tensor and draws shuffled batches by indexing it.

Where the data comes from, in order: the ``root`` argument, the ``GANLIB_DATA``
environment variable, ``<repo>/data``, then ``<repo>/../shared/data``. With internet,
torchvision downloads MNIST into that folder the first time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Literal

import torch

Scale = Literal["unit", "tanh"]
DATA_ENV_VAR = "GANLIB_DATA"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def resolve_data_root(root: str | os.PathLike | None = None) -> Path:
    """Find the folder that holds (or will hold) the data sets.

    Args:
        root: an explicit folder; wins over everything else.

    Returns:
        The argument, else ``$GANLIB_DATA``, else the first of ``<repo>/data`` and
        ``<repo>/../shared/data`` that exists, else ``<repo>/data`` (where a download goes).
    """
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    candidates = [_REPO_ROOT / "data", _REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


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
            raise FileNotFoundError(_missing_message("MNIST", folder, "MNIST/raw/")) from None
        try:
            dataset = MNIST(str(folder), train=train, download=True)
        except Exception as error:  # no internet, proxy, disk full...
            raise FileNotFoundError(
                _missing_message("MNIST", folder, "MNIST/raw/") + f" (download failed: {error})"
            ) from error
    x = dataset.data.unsqueeze(1).to(device=device, dtype=torch.float32) / 255.0
    y = dataset.targets.to(device=device, dtype=torch.int64)
    return scale_images(x, scale), y


def _missing_message(name: str, folder: Path, layout: str) -> str:
    return (
        f"{name} was not found under {folder} (expected {layout} there) and could not be "
        f"downloaded. Pass root=... or set the {DATA_ENV_VAR} environment variable to the "
        f"folder that holds {layout}, or connect to the internet so torchvision can download it."
    )


DATASETS = ("mnist", "cifar10")


def load_dataset(name: str, root: str | os.PathLike | None = None, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one of the course's data sets by name.

    Args:
        name: ``"mnist"`` (1x28x28) or ``"cifar10"`` (3x32x32); case does not matter.
        root: data folder (see :func:`resolve_data_root`).
        **kwargs: passed on to :func:`load_mnist` or ``ganlib.cifar10.load_cifar10``
            (``train=``, ``scale=``, ``download=``, ``device=``).

    Returns:
        ``x`` of shape ``(N, C, H, W)`` float32 and ``y`` of shape ``(N,)`` int64.
    """
    key = name.lower().replace("-", "").replace("_", "") if isinstance(name, str) else name
    if key == "mnist":
        return load_mnist(root, **kwargs)
    if key == "cifar10":
        from ganlib.cifar10 import load_cifar10  # imported here: only CIFAR-10 users need it

        return load_cifar10(root, **kwargs)
    raise ValueError(
        f"Unknown data set {name!r}; choose one of {', '.join(map(repr, DATASETS))}. "
        "For your own images, load them into a tensor and use TensorBatches directly."
    )

class TensorBatches:
    """Endless shuffled mini-batches drawn from tensors that stay on their device.

    Each epoch draws a new permutation from the iterator's own ``torch.Generator`` and
    slices it; incomplete last batches are dropped so every batch has ``batch_size``
    rows (BatchNorm and compiled steps like fixed shapes). ``state_dict`` and
    ``load_state_dict`` let a resumed run see exactly the batches it would have seen.

    Args:
        *tensors: tensors with the same first dimension ``N`` (e.g. images and labels).
        batch_size: rows per batch, at most ``N``.
        seed: seed of the shuffling generator.

    Yields:
        Tuples of tensors of shape ``(batch_size, ...)``.
    """

    def __init__(self, *tensors: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor.")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(
                "all tensors must have the same first dimension, got "
                f"{[tuple(t.shape) for t in tensors]}."
            )
        if not isinstance(batch_size, int) or not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be an int in 1..{n} (the data size), got {batch_size!r}.")
        self.tensors = tensors
        self.batch_size = batch_size
        self._rng = torch.Generator().manual_seed(seed)
        self._epoch_start_state = self._rng.get_state()
        self._order: torch.Tensor | None = None
        self.epoch = 0
        self.position = 0

    def __len__(self) -> int:
        """Number of full batches per epoch."""
        return self.tensors[0].shape[0] // self.batch_size

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        return self

    def __next__(self) -> tuple[torch.Tensor, ...]:
        if self._order is None or self.position + self.batch_size > self._order.numel():
            if self._order is not None:
                self.epoch += 1
            self._new_epoch()
        index = self._order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return tuple(t[index] for t in self.tensors)

    def _new_epoch(self) -> None:
        self._epoch_start_state = self._rng.get_state()
        order = torch.randperm(self.tensors[0].shape[0], generator=self._rng)
        self._order = order.to(self.tensors[0].device)
        self.position = 0

    def state_dict(self) -> dict:
        """Where the iterator is: enough to replay the rest of the current epoch."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "started": self._order is not None,
            "epoch_start_rng": self._epoch_start_state.clone(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue exactly where the iterator that made ``state`` stopped."""
        self._rng.set_state(state["epoch_start_rng"])
        self.epoch = state["epoch"]
        if state["started"]:
            self._new_epoch()
            self.position = state["position"]
        else:
            self._order = None
            self.position = 0
