"""Tests of ganlib.metrics against closed forms and an independent scipy computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from torch import nn

from ganlib.metrics import (
    class_accuracy,
    evaluate_generator,
    features,
    frechet_distance,
    per_class_accuracy,
    precision_recall,
    real_vs_real_fd,
)
from ganlib.models.evaluator import Evaluator
from ganlib.sampling import sample_balanced


def scipy_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Textbook FD with scipy's general (non-symmetric) matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def test_fd_of_identical_sets_is_zero():
    x = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fd_matches_closed_form_for_gaussians():
    # Whitened samples make the sample mean and covariance exact: N(0, I) vs N(m, s^2 I)
    # has FD = |m|^2 + d (1 - s)^2.
    d, n = 6, 4000
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = x - x.mean(0)
    x = x @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T
    shift, s = torch.full((d,), 0.5, dtype=torch.float64), 2.0
    expected = float(shift.square().sum()) + d * (1 - s) ** 2
    assert frechet_distance(x, s * x + shift) == pytest.approx(expected, rel=1e-9)


def test_fd_matches_scipy_on_correlated_sets():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(400, 5)) @ rng.normal(size=(5, 5)) + 1.0
    ours = frechet_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert ours == pytest.approx(scipy_frechet(a, b), rel=1e-6)


def test_fd_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same width"):
        frechet_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="2-D"):
        frechet_distance(torch.randn(10), torch.randn(10, 4))
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(torch.randn(1, 3), torch.randn(10, 3))


def test_precision_recall_on_toy_sets():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(400, 2, generator=g)
    # Identical distributions: both near 1.
    p, r = precision_recall(real, torch.randn(400, 2, generator=g), k=5)
    assert p > 0.9 and r > 0.9
    # Fakes collapsed onto one real point: all precise, nothing covered.
    collapsed = real[:1].repeat(400, 1) + 1e-3 * torch.randn(400, 2, generator=g)
    p, r = precision_recall(real, collapsed, k=5)
    assert p == 1.0 and r < 0.05
    # Fakes far away: neither precise nor covering.
    p, r = precision_recall(real, real + 100.0, k=5)
    assert p == 0.0 and r == 0.0


def test_precision_recall_is_chunk_independent():
    g = torch.Generator().manual_seed(4)
    real, fake = torch.randn(150, 3, generator=g), torch.randn(120, 3, generator=g) + 0.3
    assert precision_recall(real, fake, chunk=7) == precision_recall(real, fake, chunk=1000)


def test_precision_recall_rejects_bad_input():
    with pytest.raises(ValueError, match="k must"):
        precision_recall(torch.randn(10, 2), torch.randn(10, 2), k=0)
    with pytest.raises(ValueError, match="at least 6"):
        precision_recall(torch.randn(5, 2), torch.randn(10, 2), k=5)


class LabelPainter(nn.Module):
    """A fake 'perfect' conditional generator: draws class y as a bright pixel in column y."""

    z_dim = 4

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = torch.zeros(z.shape[0], 1, 28, 28)
        x[torch.arange(z.shape[0]), 0, 0, labels] = 1.0
        return x * 2 - 1  # a tanh-range generator


class ColumnReader(nn.Module):
    """A fake evaluator that reads the class back from the bright column."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def features(self, x01: torch.Tensor) -> torch.Tensor:
        return x01[:, 0, 0, :10] + 0.01 * torch.randn(x01.shape[0], 10)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        return x01[:, 0, 0, :10]


def test_class_accuracy_of_a_perfect_generator_is_one():
    images, labels = sample_balanced(LabelPainter(), 50, 4, num_classes=10)
    assert labels.tolist()[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert class_accuracy(ColumnReader(), images, labels, scale="tanh") == 1.0
    # Asking for the wrong classes scores zero.
    assert class_accuracy(ColumnReader(), images, (labels + 1) % 10, scale="tanh") == 0.0


def test_class_accuracy_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="one per image"):
        class_accuracy(ColumnReader(), torch.zeros(4, 1, 28, 28), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        class_accuracy(ColumnReader(), torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long))


def test_evaluate_generator_conditional_and_seeded():
    real = (LabelPainter()(torch.zeros(200, 4), torch.arange(200) % 10) + 1) / 2
    kwargs = dict(scale="tanh", num_classes=10, num_samples=60, batch_size=25)
    torch.manual_seed(0)
    result = evaluate_generator(LabelPainter(), ColumnReader(), real, **kwargs,
                                generator=torch.Generator().manual_seed(0))
    assert set(result) == {"fd", "precision", "recall", "num_samples", "class_accuracy"}
    assert result["class_accuracy"] == 1.0 and result["fd"] < 0.05
    torch.manual_seed(0)
    detailed = evaluate_generator(LabelPainter(), ColumnReader(), real, **kwargs, per_class=True,
                                  generator=torch.Generator().manual_seed(0))
    assert detailed["per_class_accuracy"] == [1.0] * 10
    assert {k: v for k, v in detailed.items() if k != "per_class_accuracy"} == result  # the same samples


def test_per_class_accuracy_counts_each_class_separately():
    images, labels = sample_balanced(LabelPainter(), 40, 4, num_classes=10)  # 4 painted images per class
    asked = labels.clone()
    asked[(labels == 3).nonzero()[:2, 0]] = 4  # ask for a 4 on two painted 3s
    acc = per_class_accuracy(ColumnReader(), images, asked, 10, scale="tanh")
    assert acc.shape == (10,)
    assert acc[4].item() == pytest.approx(4 / 6)  # four of the six images asked to be a 4 are
    assert acc[3].item() == 1.0 and acc[torch.arange(10) != 4].eq(1.0).all()
    never = labels.clone()
    never[labels == 3] = 4
    with pytest.raises(ValueError, match="every class"):
        per_class_accuracy(ColumnReader(), images, never, 10, scale="tanh")


def test_features_and_evaluate_generator_with_the_evaluator_network():
    evaluator = Evaluator(width=4)
    g = torch.Generator().manual_seed(5)
    images = torch.rand(30, 1, 28, 28, generator=g)
    feats = features(evaluator, images, batch_size=7)
    assert feats.shape == (30, evaluator.feature_dim) and feats.dtype == torch.float64
    # Batching must not change the features (eval mode: no batch statistics).
    assert torch.allclose(feats, features(evaluator, images, batch_size=30))
    # The tanh range is mapped back to [0, 1] before the evaluator sees it.
    assert torch.allclose(feats, features(evaluator, images * 2 - 1, scale="tanh"), atol=1e-6)

    class Uniform(nn.Module):
        z_dim = 3

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(z[:, :1, None, None].expand(-1, 1, 28, 28) + self.w)

    run = lambda: evaluate_generator(Uniform(), evaluator, images, scale="unit", num_samples=20,  # noqa: E731
                                     generator=torch.Generator().manual_seed(9), batch_size=8)
    first, second = run(), run()
    assert first == second and "class_accuracy" not in first
    assert real_vs_real_fd(evaluator, images, images[:15], num_samples=30) >= 0


def test_features_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(n, C, H, W\)"):
        features(Evaluator(width=4), torch.rand(3, 28, 28))
    with pytest.raises(ValueError, match="expects images of shape"):
        features(Evaluator(width=4), torch.rand(3, 3, 28, 28))


def test_evaluator_accepts_cifar_sized_images():
    model = Evaluator(image_channels=3, image_size=32, width=4)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    assert model.features(torch.rand(2, 3, 32, 32)).shape == (2, 16)


def test_batch_stats_sampling_leaves_the_model_untouched():
    model = nn.Sequential(nn.Linear(3, 784), nn.BatchNorm1d(784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28)))
    model.z_dim = 3
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a, _ = sample_balanced(model, 40, 3, batch_size=20, generator=torch.Generator().manual_seed(0),
                           use_batch_stats=True)
    b, _ = sample_balanced(model, 40, 3, batch_size=20, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training  # sampling ran in eval mode and put the model back as it was
    # Batch statistics normalise each batch of 20 to mean 0 before the sigmoid; running ones do not.
    assert not torch.allclose(a, b)


def test_scoring_a_wrapped_generator_leaves_it_in_eval_mode():
    # A view made around a generator in eval mode must not switch the generator to training mode
    # once it has been scored: its BatchNorm would then normalise each batch with its own statistics.
    from ganlib.acgan_training import LabelledGenerator
    from ganlib.models import ACGANGenerator
    from ganlib.sampling import eval_mode

    torch.manual_seed(0)
    G = ACGANGenerator(width=4).eval()
    view = LabelledGenerator(G)
    assert not view.training  # starts in G's mode
    z = torch.randn(6, 128)
    before = G(z)
    with eval_mode(view):
        view(z, torch.arange(6) % 10)
    assert not G.training
    torch.testing.assert_close(G(z[:2]), before[:2])  # still the running statistics: no batch effect
    mixed = torch.nn.Sequential(torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3))
    mixed[1].eval()
    with eval_mode(mixed):
        assert not any(m.training for m in mixed.modules())
    assert [m.training for m in mixed.modules()] == [True, True, False]  # each module's own mode back
