"""ganlib.metrics against the libraries: torchmetrics' FID and prdc's precision/recall/density/coverage.

Both libraries get exactly the features that ganlib scores: torchmetrics through a ``feature``
module (the identity on feature rows, or the course's evaluator on images), prdc as NumPy arrays.
The feature sets are random Gaussians of several sizes, drawn alike (the same distribution) or
shifted (a moved and narrowed copy, as a generator that misses part of the data would give).
Tolerances are stated in each test's docstring.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib.metrics import density_coverage, evaluate_generator, features, frechet_distance, precision_recall
from ganlib.models.evaluator import Evaluator
from ganlib.sampling import sample_balanced

FrechetInceptionDistance = pytest.importorskip("torchmetrics.image.fid").FrechetInceptionDistance
compute_prdc = pytest.importorskip("prdc").compute_prdc

# (real rows, fake rows, feature width): fewer rows than columns (singular covariances), then larger sets.
SIZES = [(40, 30, 64), (200, 150, 16), (1500, 1000, 64)]


def feature_sets(n_real: int, n_fake: int, dim: int, shifted: bool, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 ``(n_real, dim)`` and ``(n_fake, dim)`` Gaussian features; ``shifted`` moves and narrows the fakes."""
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, dim, generator=g, dtype=torch.float64)
    fake = torch.randn(n_fake, dim, generator=g, dtype=torch.float64)
    if shifted:
        fake = 0.8 * fake + 0.5
    return real, fake


class FeatureRows(nn.Module):
    """torchmetrics' ``feature`` module for rows that already are features: the identity."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.num_features = dim

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return rows


class EvaluatorFeatures(nn.Module):
    """torchmetrics' ``feature`` module that returns the course's evaluator features of [0, 1] images."""

    def __init__(self, evaluator: nn.Module) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.num_features = evaluator.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return features(self.evaluator, images)


def torchmetrics_fd(module: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> float:
    metric = FrechetInceptionDistance(feature=module).double()
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute())


@pytest.mark.parametrize("shifted", [False, True], ids=["alike", "shifted"])
@pytest.mark.parametrize("n_real,n_fake,dim", SIZES)
def test_frechet_distance_matches_torchmetrics_on_features(n_real, n_fake, dim, shifted):
    """Tolerance: relative 1e-6 plus absolute 1e-6 (both in float64; torchmetrics takes the trace of
    the root from the eigenvalues of the non-symmetric ``S_r S_f``, ganlib from a symmetric product)."""
    real, fake = feature_sets(n_real, n_fake, dim, shifted)
    ours = frechet_distance(real, fake)
    theirs = torchmetrics_fd(FeatureRows(dim), real, fake)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-6)
    if shifted:  # the shift alone adds |0.5|^2 per dimension to the mean term
        assert ours > 0.25 * dim


def test_frechet_distance_matches_torchmetrics_with_the_course_evaluator():
    """The evaluator as torchmetrics' feature extractor on images, against ganlib's FD of the same
    evaluator's features. Tolerance: relative 1e-5 plus absolute 1e-6 (the features are float32
    activations; both sides then work in float64)."""
    torch.manual_seed(0)
    evaluator = Evaluator(width=4).eval()
    g = torch.Generator().manual_seed(1)
    real = torch.rand(120, 1, 28, 28, generator=g) * 0.6
    fake = (torch.rand(100, 1, 28, 28, generator=g) * 0.6 + 0.3).clamp(0, 1)
    ours = frechet_distance(features(evaluator, real), features(evaluator, fake))
    theirs = torchmetrics_fd(EvaluatorFeatures(evaluator), real, fake)
    assert ours > 0
    assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("shifted", [False, True], ids=["alike", "shifted"])
@pytest.mark.parametrize("n_real,n_fake,dim", SIZES)
@pytest.mark.parametrize("k", [3, 5])
def test_precision_recall_density_coverage_match_prdc(n_real, n_fake, dim, shifted, k):
    """Tolerance: precision, recall and coverage may differ by 2 points of their set (2 / rows), density
    by 2 / (k * fake rows): ganlib measures distances in float32 with ``<=`` on the ball's edge, prdc
    in float64 with ``<``, so a point within rounding of a ball's edge may fall either way."""
    real, fake = feature_sets(n_real, n_fake, dim, shifted, seed=k)
    theirs = compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)
    precision, recall = precision_recall(real, fake, k=k, chunk=64)
    density, coverage = density_coverage(real, fake, k=k, chunk=64)
    assert precision == pytest.approx(theirs["precision"], abs=2 / n_fake)
    assert recall == pytest.approx(theirs["recall"], abs=2 / n_real)
    assert density == pytest.approx(theirs["density"], abs=2 / (k * n_fake))
    assert coverage == pytest.approx(theirs["coverage"], abs=2 / n_real)


def test_density_and_coverage_tell_alike_from_shifted():
    """Sets drawn alike: density near 1 (within 0.25) and coverage high; the shifted set scores lower
    on both (its fakes leave the edges of the real data unreached)."""
    real, fake = feature_sets(1500, 1000, 16, shifted=False)
    density, coverage = density_coverage(real, fake)
    assert density == pytest.approx(1.0, abs=0.25) and coverage > 0.9
    shifted_density, shifted_coverage = density_coverage(*feature_sets(1500, 1000, 16, shifted=True))
    assert shifted_coverage < coverage - 0.2 and shifted_density != pytest.approx(density, abs=0.1)


def test_density_coverage_rejects_bad_input():
    real, fake = feature_sets(10, 10, 4, shifted=False)
    with pytest.raises(ValueError, match="k must be a positive int"):
        density_coverage(real, fake, k=0)
    with pytest.raises(ValueError, match="at least 6 rows"):
        density_coverage(real[:5], fake, k=5)
    with pytest.raises(ValueError, match="same width"):
        density_coverage(real, fake[:, :3])


def test_evaluate_generator_adds_density_and_coverage_on_request():
    """The keys appear only when asked, and equal prdc's on the samples that evaluate_generator drew
    (same tolerance as above)."""

    class Shifted(nn.Module):
        z_dim = 4

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(z.repeat(1, 196).view(-1, 1, 28, 28) + self.w + 0.5)

    torch.manual_seed(0)
    evaluator = Evaluator(width=4).eval()
    real_images = torch.rand(80, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    options = dict(scale="unit", num_samples=60, k=3, batch_size=30)
    plain = evaluate_generator(Shifted(), evaluator, real_images, generator=torch.Generator().manual_seed(3),
                               **options)
    assert "density" not in plain and "coverage" not in plain
    scores = evaluate_generator(Shifted(), evaluator, real_images, generator=torch.Generator().manual_seed(3),
                                with_density_coverage=True, **options)
    assert {k: v for k, v in scores.items() if k not in ("density", "coverage")} == plain
    fakes, _ = sample_balanced(Shifted(), 60, None, generator=torch.Generator().manual_seed(3), batch_size=30)
    theirs = compute_prdc(features(evaluator, real_images).numpy(), features(evaluator, fakes).numpy(), nearest_k=3)
    assert scores["density"] == pytest.approx(theirs["density"], abs=2 / (3 * 60))
    assert scores["coverage"] == pytest.approx(theirs["coverage"], abs=2 / 80)
