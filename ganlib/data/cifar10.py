"""CIFAR-10 as two tensors, from whichever copy of the data set is at hand.

Three sources, tried in this order under the data folder (see
:func:`ganlib.data.resolve_data_root`):

1. an image-folder tree ``cifar10/{train,test}/<class>/*.jpg`` (what the course's offline
   data holds; class folders sorted by name are CIFAR-10's own class order);
2. torchvision's pickled batches ``cifar-10-batches-py/``;
3. ``torchvision.datasets.CIFAR10(download=True)``, which fetches (2) from the internet.

Decoding 60,000 JPEGs takes tens of seconds on a laptop, so the decoded images are kept
as one uint8 tensor file in a cache folder (``cache_dir`` argument, else ``$GANLIB_CACHE``,
else ``~/.cache/ganlib``). The cache file's name holds a fingerprint of the source (paths,
sizes and modification times of every image), so a changed tree is decoded afresh and a
stale cache is never read.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from ganlib.checkpoints import save_checkpoint
from ganlib.data.paths import DATA_ENV_VAR, resolve_data_root
from ganlib.data.safe_pickle import read_pickled_batch
from ganlib.data.scaling import Scale, scale_images

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
CACHE_ENV_VAR = "GANLIB_CACHE"
PICKLED_FOLDER = "cifar-10-batches-py"
_PICKLED_FILES = {True: [f"data_batch_{i}" for i in range(1, 6)], False: ["test_batch"]}
_CACHE_FORMAT = "ganlib-cifar10-cache-v1"


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder for decoded data: the argument, else ``$GANLIB_CACHE``, else ``~/.cache/ganlib``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    return Path.home() / ".cache" / "ganlib"


def load_cifar10(
    root: str | os.PathLike | None = None,
    *,
    train: bool = True,
    scale: Scale = "tanh",
    download: bool = True,
    device: torch.device | str = "cpu",
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load CIFAR-10 whole (or a class-balanced part of it), as tensors.

    Args:
        root: data folder (see :func:`ganlib.data.resolve_data_root`).
        train: the 50,000 training images, or the 10,000 test images.
        scale: ``"unit"`` for [0, 1] or ``"tanh"`` for [-1, 1].
        download: let torchvision download the pickled batches when no copy is found.
        device: where the tensors go (the uint8 images travel, then become float there).
        limit: keep only this many images, class-balanced (the first ``limit // 10`` of
            each class, one more for the first ``limit % 10`` classes): for smoke runs.
        cache_dir: folder for decoded JPEGs (see :func:`resolve_cache_dir`).

    Returns:
        ``x`` of shape ``(N, 3, 32, 32)`` float32 and ``y`` of shape ``(N,)`` int64,
        grouped by class when ``limit`` is set, in the source's order otherwise.
    """
    images, labels = load_cifar10_uint8(root, train=train, download=download, limit=limit,
                                        cache_dir=cache_dir)
    x = images.to(device).float().div_(255.0)
    return scale_images(x, scale), labels.to(device)


def load_cifar10_uint8(
    root: str | os.PathLike | None = None,
    *,
    train: bool = True,
    download: bool = True,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`load_cifar10` but returns the raw ``uint8`` images ``(N, 3, 32, 32)`` on the CPU."""
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int (or None for all images), got {limit!r}.")
    folder = resolve_data_root(root)
    split = "train" if train else "test"
    tree = folder / "cifar10" / split
    if tree.is_dir():
        return _load_image_folder(tree, limit, resolve_cache_dir(cache_dir))
    pickled = folder / PICKLED_FOLDER
    if not _has_pickled(pickled, train):
        if not download:
            raise FileNotFoundError(_missing_message(folder, split))
        try:
            from torchvision.datasets import CIFAR10

            CIFAR10(str(folder), train=train, download=True)
        except Exception as error:  # no internet, proxy, disk full...
            raise FileNotFoundError(
                _missing_message(folder, split) + f" (download failed: {error})"
            ) from error
    images, labels = _read_pickled(pickled, train)
    return _take_balanced(images, labels, limit)


def _missing_message(folder: Path, split: str) -> str:
    return (
        f"CIFAR-10 ({split}) was not found under {folder}: expected an image-folder tree "
        f"cifar10/{split}/<class>/*.jpg or torchvision's {PICKLED_FOLDER}/ there, and it could "
        f"not be downloaded. Pass root=... or set the {DATA_ENV_VAR} environment variable to the "
        "folder that holds one of them, or connect to the internet so torchvision can download it."
    )


# --- image-folder tree -------------------------------------------------------------------


def _load_image_folder(tree: Path, limit: int | None, cache_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import ImageFolder

    dataset = ImageFolder(str(tree))  # lists files only; classes sorted by folder name
    if tuple(dataset.classes) != CIFAR10_CLASSES:
        raise ValueError(
            f"{tree} must hold one folder per CIFAR-10 class {list(CIFAR10_CLASSES)}, found "
            f"{dataset.classes}. Point root=... at the folder that holds cifar10/{{train,test}}."
        )
    paths = [path for path, _ in dataset.samples]
    labels = torch.tensor([label for _, label in dataset.samples], dtype=torch.int64)
    cache_file = cache_dir / f"cifar10-{tree.name}-{_fingerprint(tree, paths)}.pt"
    cached = _read_cache(cache_file)
    if cached is not None:
        return _take_balanced(*cached, limit)
    if limit is not None:  # decode only the subset; a partial decode is not cached
        index = _balanced_index(labels, limit)
        return _decode_jpegs([paths[i] for i in index]), labels[index]
    images = _decode_jpegs(paths)
    try:
        save_checkpoint({"format": _CACHE_FORMAT, "source": str(tree), "images": images,
                         "labels": labels}, cache_file)
    except OSError:  # a read-only home folder must not stop training; it is only slower
        pass
    return images, labels


def _fingerprint(tree: Path, paths: list[str]) -> str:
    """Hash of every file's relative path, size and modification time."""
    digest = hashlib.sha256(str(tree.resolve()).encode())
    prefix = len(str(tree))  # ImageFolder's paths all start with the tree's path
    lines = []
    for path in paths:
        stat = os.stat(path)
        lines.append(f"{path[prefix:]}|{stat.st_size}|{stat.st_mtime_ns}")
    digest.update("\n".join(lines).encode())
    return digest.hexdigest()[:16]


def _read_cache(cache_file: Path) -> tuple[torch.Tensor, torch.Tensor] | None:
    if not cache_file.is_file():
        return None
    try:
        state = torch.load(cache_file, map_location="cpu", weights_only=True)
    except Exception:  # truncated or corrupt: decode again (and overwrite it)
        return None
    if not isinstance(state, dict) or state.get("format") != _CACHE_FORMAT:
        return None
    return state["images"], state["labels"]


def _decode_jpegs(paths: list[str]) -> torch.Tensor:
    """Decode image files to one ``(N, 3, 32, 32)`` uint8 tensor, on several threads.

    Raises:
        ValueError: a file is truncated, not an image, or not 32x32 (the message names it).
    """
    if not paths:
        raise FileNotFoundError("No images were found to decode; check the data folder.")
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while decoding
        decoded = list(pool.map(_decode_one, paths, chunksize=256))
    return torch.from_numpy(np.stack(decoded)).permute(0, 3, 1, 2).contiguous()


def _decode_one(path: str) -> np.ndarray:
    """One image file as a ``(32, 32, 3)`` uint8 array, or a ValueError that names the file."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as error:  # truncated, not an image, bad header
        raise ValueError(
            f"The image {path} could not be decoded ({type(error).__name__}: {error}): the file is "
            "truncated or is not an image. Replace it with an intact copy of the data set, or move it "
            "out of the cifar10/ tree if it does not belong there."
        ) from None
    if array.shape != (32, 32, 3):
        raise ValueError(
            f"The image {path} is {array.shape[1]}x{array.shape[0]} pixels; every CIFAR-10 image is "
            "32x32. Replace it with the data set's own image, or move it out of the cifar10/ tree."
        )
    return array


# --- torchvision's pickled batches --------------------------------------------------------


def _has_pickled(folder: Path, train: bool) -> bool:
    return all((folder / name).is_file() for name in _PICKLED_FILES[train])


def _read_pickled(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for name in _PICKLED_FILES[train]:
        data, batch_labels = read_pickled_batch(folder / name)  # only arrays and plain values
        images.append(torch.from_numpy(data).reshape(-1, 3, 32, 32))  # rows: R plane, G plane, B plane
        labels.append(torch.as_tensor(batch_labels, dtype=torch.int64))
    return torch.cat(images), torch.cat(labels)


# --- class-balanced subsets ---------------------------------------------------------------


def _balanced_index(labels: torch.Tensor, limit: int | None, num_classes: int = 10) -> torch.Tensor:
    """Indices of the first ``limit // num_classes`` images of each class (+1 for the first ones)."""
    if limit is None:
        return torch.arange(labels.numel())
    parts = []
    for c in range(num_classes):
        wanted = limit // num_classes + (1 if c < limit % num_classes else 0)
        parts.append(torch.nonzero(labels == c).flatten()[:wanted])
    return torch.cat(parts)


def _take_balanced(images: torch.Tensor, labels: torch.Tensor, limit: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    if limit is None:
        return images, labels
    index = _balanced_index(labels, limit)
    return images[index], labels[index]
