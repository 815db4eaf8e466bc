"""Reading CIFAR-10's pickled batches without running code from the data folder.

``pickle.load`` calls whatever function a file names, so a crafted ``data_batch_1`` in a
searched data folder could run any command when a notebook loads CIFAR-10. The batches
hold only a dict of strings, lists of ints and one uint8 array; :class:`BatchUnpickler`
resolves nothing but numpy's own array reconstruction functions and ``numpy.dtype``, and
refuses every other name before anything is called. (Python 3 writes ``bytes`` at pickle
protocol 2 as a call to ``_codecs.encode(text, "latin1")``; that one call is honoured for
the latin-1 codec only, which turns a string into bytes and nothing else.)
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
from numpy._core import multiarray, numeric


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """``bytes`` as protocol 2 rebuilds them; any codec but latin-1 is refused."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused global _codecs.encode with codec {encoding!r}")
    return text.encode("latin1")


# What a pickled ndarray needs, under the module names numpy 1 (``numpy.core``) and
# numpy 2 (``numpy._core``) write; the objects are numpy's own, looked up here, not by name.
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
    ("numpy.core.numeric", "_frombuffer"): numeric._frombuffer,
    ("numpy._core.numeric", "_frombuffer"): numeric._frombuffer,
    ("_codecs", "encode"): _latin1_bytes,
}
_FIX = ("Replace the folder cifar-10-batches-py/ with torchvision's original download, or use the "
        "image-folder tree cifar10/{train,test}/<class>/*.jpg instead.")


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain Python values and numpy arrays.

    Raises:
        pickle.UnpicklingError: the stream names any other class or function.
    """

    def find_class(self, module: str, name: str) -> object:
        """Return numpy's array builders; refuse every other global before it is called."""
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def read_pickled_batch(path: str | os.PathLike) -> tuple[np.ndarray, list[int]]:
    """One CIFAR-10 batch file (``data_batch_N`` or ``test_batch``), read safely and checked.

    Args:
        path: the batch file.

    Returns:
        ``(data, labels)``: ``data`` a uint8 array ``(n, 3072)`` (per row the 1024 red values,
        then green, then blue, each 32x32 row-major) and ``labels`` a list of ``n`` ints in 0..9.

    Raises:
        ValueError: the file names code (nothing from it ran), is truncated or corrupt, or does
            not hold a CIFAR-10 batch; the message names the file.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            batch = BatchUnpickler(handle, encoding="latin1").load()  # the encoding torchvision uses too
    except pickle.UnpicklingError as error:
        if str(error).startswith("refused global"):
            raise ValueError(
                f"{path} is not a plain CIFAR-10 batch: it asks to run {str(error)[len('refused global '):]}, "
                f"which was refused (nothing from the file ran). Data files must never hold code. {_FIX}"
            ) from None
        raise ValueError(f"{path} is truncated or corrupt ({error}). {_FIX}") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError) as error:
        raise ValueError(f"{path} is truncated or corrupt ({type(error).__name__}: {error}). {_FIX}") from None
    return _checked(batch, path)


def _checked(batch: object, path: Path) -> tuple[np.ndarray, list[int]]:
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path} holds no CIFAR-10 batch (a dict with 'data' and 'labels'). {_FIX}")
    data, labels = batch["data"], batch["labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (n, 3072) (n 32x32 RGB images), "
                         f"got {shape}. {_FIX}")
    if not isinstance(labels, list) or len(labels) != data.shape[0] or not all(
            type(label) is int for label in labels):
        raise ValueError(f"{path}: 'labels' must be a list of {data.shape[0]} ints, one per image. {_FIX}")
    bad = [label for label in labels if not 0 <= label <= 9]
    if bad:
        raise ValueError(f"{path}: labels must lie in 0..9 (CIFAR-10 has 10 classes), found {bad[0]}. {_FIX}")
    return data, labels
