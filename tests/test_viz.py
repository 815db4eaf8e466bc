"""Tests for ganlib.viz: the pictures draw what their data say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ganlib.viz import plot_confusion  # noqa: E402


def test_confusion_shows_row_percentages_and_per_class_accuracy():
    counts = torch.tensor([[8, 2, 0], [0, 5, 5], [1, 0, 0]])
    ax = plot_confusion(counts, ["a", "b", "c"])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["a 80%", "b 50%", "c 0%"]
    cells = {t.get_text() for t in ax.texts}
    assert {"80", "20", "50", "100"} <= cells and "0" not in cells  # empty cells stay blank
    plt.close("all")


def test_confusion_rejects_a_shape_that_does_not_match_the_names():
    with pytest.raises(ValueError, match="must be \\(3, 3\\)"):
        plot_confusion(torch.zeros(2, 2), ["a", "b", "c"])
