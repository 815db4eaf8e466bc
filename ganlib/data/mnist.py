"""MNIST as two tensors, read from torchvision's IDX files (downloaded on first use when online).

The files are read and checked here rather than by torchvision, so that a damaged file is
reported as damaged (with its path and what is wrong), never as "not found", and a label
outside 0..9 is refused when the data loads instead of training a class that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ganlib.data.paths import missing_message, resolve_data_root
from ganlib.data.scaling import Scale, scale_images

# IDX magic numbers: two zero bytes, 0x08 (unsigned bytes), then the number of dimensions.
_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801
_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


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

    Raises:
        FileNotFoundError: the files are missing and could not be downloaded.
        ValueError: a file is there but truncated, of another format or holds a label
            outside 0..9 (the message names the file).
    """
    folder = resolve_data_root(root)
    raw = folder / "MNIST" / "raw"
    image_file, label_file = (raw / name for name in _FILES[train])
    if not (image_file.is_file() and label_file.is_file()):
        _download(folder, train, download)
    images = read_idx(image_file, _IMAGES_MAGIC, (28, 28))
    labels = read_idx(label_file, _LABELS_MAGIC, ())
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{label_file} holds {labels.shape[0]} labels but {image_file} holds {images.shape[0]} images; "
            "one of them is from another copy of MNIST. Replace both with the files of one download."
        )
    if labels.size and labels.max() > 9:
        where = int(np.argmax(labels > 9))
        raise ValueError(
            f"{label_file}: label {int(labels[where])} at position {where} is outside 0..9 (MNIST has 10 "
            "digits); the file is corrupt. Replace it with an intact copy (move it aside and load again "
            "with download=True to fetch a fresh one)."
        )
    x = torch.from_numpy(images).unsqueeze(1).to(device=device, dtype=torch.float32) / 255.0
    y = torch.from_numpy(labels.astype(np.int64)).to(device=device)
    return scale_images(x, scale), y


def _download(folder: Path, train: bool, download: bool) -> None:
    if not download:
        raise FileNotFoundError(missing_message("MNIST", folder, "MNIST/raw/"))
    try:
        from torchvision.datasets import MNIST

        MNIST(str(folder), train=train, download=True)
    except Exception as error:  # no internet, proxy, disk full...
        raise FileNotFoundError(
            missing_message("MNIST", folder, "MNIST/raw/") + f" (download failed: {error})"
        ) from error


def read_idx(path: Path, magic: int, item_shape: tuple[int, ...]) -> np.ndarray:
    """Read one IDX file of unsigned bytes, checking its header against what MNIST holds.

    Args:
        path: the file.
        magic: the expected magic number (``0x803`` for images, ``0x801`` for labels).
        item_shape: the shape of one item, ``(28, 28)`` for images, ``()`` for labels.

    Returns:
        A uint8 array of shape ``(n, *item_shape)``.

    Raises:
        ValueError: empty, truncated, another magic number or other item sizes; names the file.
    """
    fix = ("Replace it with an intact copy (move it aside and load again with download=True so "
           "torchvision fetches a fresh one).")
    raw = path.read_bytes()
    header_size = 4 * (2 + len(item_shape))
    if len(raw) < header_size:
        what = "is empty (0 bytes)" if not raw else f"has only {len(raw)} bytes, less than its header"
        raise ValueError(f"The MNIST file {path} {what}: it is truncated. {fix}")
    header = np.frombuffer(raw, dtype=">u4", count=header_size // 4)
    if int(header[0]) != magic:
        raise ValueError(
            f"The MNIST file {path} starts with 0x{int(header[0]):08x}, not the IDX magic number "
            f"0x{magic:08x} of an MNIST {'label' if not item_shape else 'image'} file: it is another "
            f"file or is compressed (.gz files must be unpacked). {fix}"
        )
    count, shape = int(header[1]), tuple(int(v) for v in header[2:])
    if shape != item_shape:
        raise ValueError(f"The MNIST file {path} holds items of shape {shape}, expected {item_shape}. {fix}")
    expected = header_size + count * int(np.prod(item_shape, dtype=np.int64))
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(
            f"The MNIST file {path} is {state}: {len(raw):,} bytes for {count:,} items, expected "
            f"{expected:,}. {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(count, *item_shape).copy()
