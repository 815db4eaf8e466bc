"""Endless shuffled mini-batches cut from tensors that stay on their device."""

from __future__ import annotations

from typing import Iterator

import torch

from ganlib.noise import check_label_range, check_labels


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
        self._labels_checked_for: int | None = None  # see check_labels

    def check_labels(self, num_classes: int) -> None:
        """Check once that the second tensor holds labels in ``0..num_classes-1``; later calls are free.

        One check reads the whole label set back (one device sync); every batch cut from it is
        then in range, so the models' own checks need not read a GPU's labels each step.
        """
        if len(self.tensors) < 2 or self._labels_checked_for == num_classes:
            return
        check_labels(self.tensors[1], num_classes)
        check_label_range(self.tensors[1], num_classes)
        self._labels_checked_for = num_classes

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
