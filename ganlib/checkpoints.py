"""Saving and loading training state without ever losing work.

Checkpoints hold only tensors, numbers, strings, lists and dicts, so they load with
``torch.load(weights_only=True)``: no pickled code runs when a learner opens one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganlib.checkpoint_guard import foreign_file_kind, remove_stale_temporaries, temporary_prefix


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically.

    The data goes to a temporary file in the same folder, is flushed to disk, then
    renamed over ``path`` in one step; a crash or kill at any moment leaves either the
    old checkpoint or the new one, never a half-written file. The temporary file's name
    holds this process's PID, so that the next save or load removes what a killed save
    left behind (:func:`ganlib.checkpoint_guard.remove_stale_temporaries`).

    Args:
        state: a dict of tensors, state dicts, numbers and strings.
        path: destination file; its folder is created if needed.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike, data: Any, indent: int | None = None) -> Path:
    """Write ``data`` as JSON (and a final newline) to ``path`` through a temporary file beside it.

    A run killed while writing leaves the old file or the new one, never half of one: for
    records that a long run updates as it goes (a training curve, benchmark results).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=indent) + "\n")
    tmp.replace(path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (or any plain state dict).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: ``path`` is a directory or a file of another kind (text...), or the file
            is truncated, corrupt or holds pickled code.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{path} is a directory, not a checkpoint file; pass the path of the file inside it "
            "(fit(..., checkpoint_path=...) writes one file, e.g. state.pt)."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"No checkpoint at {path}. Check the path, or train first (fit(..., "
            "checkpoint_path=...) writes one)."
        )
    remove_stale_temporaries(path)
    kind = foreign_file_kind(path)
    if kind is not None:
        raise ValueError(
            f"{path} holds {kind}, not a checkpoint written by ganlib (torch.save); it was left "
            "untouched. Check the path, or choose another one for your checkpoints."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    # Garbage makes the unpickler fail in many ways (IndexError, KeyError, UnpicklingError...).
    except Exception as error:
        raise ValueError(
            f"The checkpoint {path} could not be read; it is truncated or corrupt "
            f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
            "Move it aside (rename it) to start training afresh, or restore it from a backup."
        ) from error


def load_model_state(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load ``state_dict`` into ``model``, with an error that names a mismatch plainly.

    Args:
        model: the module to fill.
        state_dict: its saved parameters and buffers.
        source: a name for the error message (e.g. the file name).
    """
    expected, given = set(model.state_dict()), set(state_dict)
    if expected != given:
        missing, unexpected = sorted(expected - given)[:3], sorted(given - expected)[:3]
        raise ValueError(
            f"The {source} does not fit a {type(model).__name__}: missing {missing}, "
            f"unexpected {unexpected}. It was probably saved from another model; build the "
            "model it was saved from."
        )
    for name, tensor in model.state_dict().items():
        if tensor.shape != state_dict[name].shape:
            raise ValueError(
                f"The {source} does not fit this {type(model).__name__}: {name} has shape "
                f"{tuple(state_dict[name].shape)} there but {tuple(tensor.shape)} here. Build the "
                "model with the same sizes (z_dim, hidden_dim, num_classes) it was saved with."
            )
    model.load_state_dict(state_dict)
