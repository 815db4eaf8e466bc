"""Shared pytest fixtures: quiet progress bars, fixed seeds and tiny data written on the fly.

Keep this file to fixtures used by more than one test module; a fixture that only one
module needs belongs in that module.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

# Set before any test imports tqdm; papermill / nbval kernels inherit it too.
os.environ.setdefault("TQDM_DISABLE", "1")
# Two shared CPU cores: tiny test models gain nothing from more threads.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same global random state."""
    from ganlib.utils import seed_everything

    seed_everything(0)


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array in the IDX format MNIST uses (big-endian header, then raw bytes).

    Args:
        path: file to write.
        array: uint8 array of shape ``(n,)`` (labels) or ``(n, rows, cols)`` (images).

    Returns:
        ``path``.
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)  # 0x08: unsigned byte data
    header += struct.pack(f">{array.ndim}I", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.tobytes())
    return path


def make_tiny_mnist(root: Path, n_train: int = 40, n_test: int = 20) -> dict[str, np.ndarray]:
    """Write a small MNIST-shaped data set into ``root/MNIST/raw`` (torchvision's layout).

    Image ``i`` is filled with ``i`` (so tests can check scaling and order exactly) and
    labelled ``i % 10``.

    Returns:
        The arrays written: ``train_images``, ``train_labels``, ``test_images``, ``test_labels``.
    """
    raw = root / "MNIST" / "raw"
    arrays = {}
    for split, n, prefix in (("train", n_train, "train"), ("test", n_test, "t10k")):
        images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None], (n, 28, 28)).copy()
        images[:, 0, 0] = 255  # one white pixel so the [0, 1] range is fully used
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    return arrays


@pytest.fixture
def idx_writer():
    """:func:`write_idx` itself (a fixture, since ``from conftest import`` may find tests/browser's)."""
    return write_idx


@pytest.fixture
def tiny_mnist_writer():
    """:func:`make_tiny_mnist` itself, for other sizes.

    (``from conftest import ...`` is ambiguous in a test module: tests/browser has a conftest too.)
    """
    return make_tiny_mnist


@pytest.fixture
def tiny_mnist_root(tmp_path: Path) -> Path:
    """A data root holding a 40-image train / 20-image test MNIST in IDX format."""
    root = tmp_path / "data"
    make_tiny_mnist(root)
    return root
