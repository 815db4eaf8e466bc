"""Metrics refuse NaN or infinite images with one clear message, before any feature is computed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib import metrics
from ganlib.models.evaluator import Evaluator

MESSAGE = "NaN or infinite values"


class CountingEvaluator(Evaluator):
    """The course's evaluator, counting how many batches reach its feature extractor."""

    def __init__(self) -> None:
        super().__init__(width=4)
        self.calls = 0

    def features(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return super().features(x)


class NaNGenerator(nn.Module):
    """A generator whose training diverged: valid noise in, NaN images out."""

    z_dim = 4

    def __init__(self, value: float = float("nan"), conditional: bool = False) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))
        self.value, self.conditional = value, conditional

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        images = torch.rand(z.shape[0], 1, 28, 28) * self.scale
        images[0, 0, 3, 3] = self.value  # one bad pixel in one image is enough to poison a metric
        return images


def _images(n: int = 12, bad: float | None = float("nan")) -> torch.Tensor:
    images = torch.rand(n, 1, 28, 28)
    if bad is not None:
        images[n // 2, 0, 5, 5] = bad
    return images


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_features_refuse_non_finite_images_before_computing(bad: float) -> None:
    evaluator = CountingEvaluator()
    with pytest.raises(ValueError, match=f"{MESSAGE} in 1 of 12 images"):
        metrics.features(evaluator, _images(bad=bad))
    assert evaluator.calls == 0


def test_class_accuracy_refuses_nan_images() -> None:
    evaluator = CountingEvaluator()
    with pytest.raises(ValueError, match=MESSAGE):
        metrics.class_accuracy(evaluator, _images(), torch.zeros(12, dtype=torch.long))
    with pytest.raises(ValueError, match=MESSAGE):
        metrics.per_class_accuracy(evaluator, _images(20), torch.arange(20) % 10, 10)
    assert evaluator.calls == 0


@pytest.mark.parametrize("which", ["a", "b"])
def test_frechet_distance_refuses_nan_features(which: str) -> None:
    good, bad = torch.randn(10, 3), torch.randn(10, 3)
    bad[4, 1] = float("nan")
    a, b = (bad, good) if which == "a" else (good, bad)
    with pytest.raises(ValueError, match=f"feats_{which} holds {MESSAGE} in 1 of 10 rows"):
        metrics.frechet_distance(a, b)


def test_precision_recall_refuses_nan_features() -> None:
    good, bad = torch.randn(10, 3), torch.randn(10, 3)
    bad[0] = float("nan")
    with pytest.raises(ValueError, match=f"fake_feats holds {MESSAGE}"):
        metrics.precision_recall(good, bad, k=3)


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_evaluate_generator_refuses_a_nan_generator_before_features(conditional: bool, value: float) -> None:
    evaluator = CountingEvaluator()
    real = torch.rand(20, 1, 28, 28)
    with pytest.raises(ValueError, match=f"The generator's samples holds {MESSAGE}"):
        metrics.evaluate_generator(NaNGenerator(value, conditional), evaluator, real, scale="unit",
                                   num_classes=10 if conditional else None, num_samples=20)
    assert evaluator.calls == 0


def test_finite_images_still_score() -> None:
    evaluator = CountingEvaluator()
    real = torch.rand(20, 1, 28, 28)
    result = metrics.evaluate_generator(NaNGenerator(0.5), evaluator, real, scale="unit", num_samples=20, k=3)
    assert result["fd"] >= 0 and 0 <= result["precision"] <= 1 and evaluator.calls > 0
