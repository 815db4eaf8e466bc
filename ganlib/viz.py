"""Pictures for the notebooks: image grids, filmstrips and loss curves.

The functions draw on a matplotlib ``Axes`` and return it; the notebook ends the cell
with ``plt.show()``, so the figure appears once and nothing stays open.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

from ganlib.data.scaling import Scale, to_unit_range


def image_grid(images: torch.Tensor, *, nrow: int = 8, scale: Scale = "tanh", padding: int = 2) -> torch.Tensor:
    """Tile a batch of images into one picture.

    Args:
        images: ``(n, C, H, W)`` with C = 1 or 3, in the range given by ``scale``.
        nrow: images per row.
        scale: ``"tanh"`` for [-1, 1] or ``"unit"`` for [0, 1].
        padding: pixels between tiles.

    Returns:
        ``(H_grid, W_grid, 3)`` float tensor in [0, 1] on the CPU, ready for ``imshow``.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] not in (1, 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must have shape (n, 1 or 3, H, W), got {shape}.")
    unit = to_unit_range(images.detach().float().cpu(), scale)
    return make_grid(unit, nrow=nrow, padding=padding, pad_value=1.0).permute(1, 2, 0)


def show_images(
    images: torch.Tensor,
    *,
    nrow: int = 8,
    scale: Scale = "tanh",
    title: str | None = None,
    ax: plt.Axes | None = None,
    size: float = 0.6,
) -> plt.Axes:
    """Draw a grid of images.

    Args:
        images: ``(n, C, H, W)`` images in the range given by ``scale``.
        nrow: images per row.
        scale: ``"tanh"`` for [-1, 1] or ``"unit"`` for [0, 1].
        title: optional title.
        ax: axes to draw on; a new figure sized to the grid when None.
        size: inches per image when a new figure is made.

    Returns:
        The axes drawn on.
    """
    grid = image_grid(images, nrow=nrow, scale=scale)
    if ax is None:
        rows = -(-images.shape[0] // nrow)
        _, ax = plt.subplots(figsize=(max(2.0, size * min(nrow, images.shape[0])), max(1.0, size * rows)))
    ax.imshow(grid.numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_losses(
    history: dict[str, Sequence[float]],
    *,
    keys: Sequence[str] | None = None,
    ax: plt.Axes | None = None,
    title: str = "Losses",
) -> plt.Axes:
    """Plot loss curves from a training history against the step.

    Args:
        history: ``{"step": [...], "loss_d": [...], ...}`` as :func:`ganlib.train.fit` returns.
        keys: which curves to draw; every key but ``step`` and ``seconds`` by default.
        ax: axes to draw on; a new figure when None.
        title: the plot's title.

    Returns:
        The axes drawn on.
    """
    if "step" not in history or not history["step"]:
        raise ValueError("history has no 'step' entries yet: train first, then plot.")
    keys = keys or [k for k in history if k not in ("step", "seconds")]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for key in keys:
        if key not in history:
            raise ValueError(f"history has no curve {key!r}; it has {sorted(history)}.")
        ax.plot(history["step"], history[key], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_confusion(counts: torch.Tensor, class_names: Sequence[str], *, ax: plt.Axes | None = None,
                   title: str = "Confusion matrix") -> plt.Axes:
    """Draw a confusion matrix as row-normalised percentages, with each class's accuracy on the left.

    Args:
        counts: ``(K, K)`` counts, row = true class, column = predicted class (as
            :func:`ganlib.classifier.confusion_matrix` returns).
        class_names: ``K`` names, in class order.
        ax: axes to draw on; a new figure when None.
        title: the plot's title.

    Returns:
        The axes drawn on.
    """
    k = len(class_names)
    if counts.shape != (k, k):
        raise ValueError(f"counts must be ({k}, {k}) for {k} class names, got {tuple(counts.shape)}.")
    rows = counts.double() / counts.sum(1, keepdim=True).clamp(min=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(rows.numpy(), cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if rows[i, j] >= 0.005:  # leave the empty cells blank: the mistakes stand out
                ax.text(j, i, f"{100 * rows[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if rows[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), class_names, rotation=60, ha="right")
    ax.set_yticks(range(k), [f"{name} {100 * rows[i, i]:.0f}%" for i, name in enumerate(class_names)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (its accuracy)")
    ax.set_title(title)
    return ax


def plot_filmstrip(
    frames: torch.Tensor,
    *,
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    scale: Scale = "tanh",
    size: float = 0.75,
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Draw frames as filmstrips: one row per strip, captions under the columns.

    Args:
        frames: images ``(rows, cols, C, H, W)``, e.g. from :func:`interpolate_classes`.
        col_labels: one caption per column (e.g. the fractions).
        row_labels: one caption per row.
        title: optional title.
        scale: ``"tanh"`` for [-1, 1] images, ``"unit"`` for [0, 1].
        size: inches per frame when a new figure is made.
        ax: axes to draw on; a new figure when None.

    Returns:
        The axes drawn on (call ``plt.show()`` or ``ax.figure.savefig(...)``).
    """
    if frames.dim() != 5:
        raise ValueError(f"frames must have shape (rows, cols, C, H, W), got {tuple(frames.shape)}.")
    rows, cols, _, height, width = frames.shape
    for labels, count, name in ((col_labels, cols, "col_labels"), (row_labels, rows, "row_labels")):
        if labels is not None and len(labels) != count:
            raise ValueError(f"{name} needs {count} entries, got {len(labels)}.")
    padding = 2
    grid = image_grid(frames.flatten(0, 1), nrow=cols, scale=scale, padding=padding)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(2.0, size * cols + (1.0 if row_labels else 0.0)),
                                      max(1.0, size * rows + 0.5)))
    ax.imshow(grid.numpy(), interpolation="nearest")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_xticks([padding + i * (width + padding) + width / 2 for i in range(cols)],
                  list(col_labels) if col_labels is not None else [])
    ax.set_yticks([padding + i * (height + padding) + height / 2 for i in range(rows)],
                  list(row_labels) if row_labels is not None else [])
    ax.tick_params(length=0, labelsize=8)
    if title:
        ax.set_title(title)
    return ax
