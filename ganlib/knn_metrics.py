"""k-nearest-neighbour metrics on evaluator features: precision / recall and density / coverage.

Precision and recall (Kynkaanniemi et al., 2019) and density and coverage (Naeem et al., 2020) are
explained in :mod:`ganlib.metrics`, which re-exports both functions.
"""

from __future__ import annotations

import torch

from ganlib.metric_inputs import check_features


def _kth_neighbour_radii(feats: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row: ``(n,)``."""
    radii = []
    for i in range(0, feats.shape[0], chunk):
        dist = torch.cdist(feats[i:i + chunk], feats)
        radii.append(dist.kthvalue(k + 1, dim=1).values)  # k + 1: the nearest is the row itself
    return torch.cat(radii)


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int) -> torch.Tensor:
    """Whether each point lies within ``radii[j]`` of some ``centres[j]``: bool ``(n,)``."""
    inside = []
    for i in range(0, points.shape[0], chunk):
        dist = torch.cdist(points[i:i + chunk], centres)
        inside.append((dist <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def precision_recall(real_feats: torch.Tensor, fake_feats: torch.Tensor, *, k: int = 5,
                     chunk: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al., 2019) by k nearest neighbours.

    Each set's manifold is the union of balls around its points, each ball reaching the
    point's k-th nearest neighbour in the same set.

    Args:
        real_feats: ``(n, d)`` features of real images, ``n > k``.
        fake_feats: ``(m, d)`` features of generated images, ``m > k``.
        k: neighbourhood size (5 in the paper).
        chunk: rows per distance block (bounds memory to ``chunk * max(n, m)`` floats).

    Returns:
        ``(precision, recall)``, each in [0, 1].
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}.")
    check_features(real_feats, "real_feats", k + 1)
    check_features(fake_feats, "fake_feats", k + 1)
    if real_feats.shape[1] != fake_feats.shape[1]:
        raise ValueError(
            f"feature sets must have the same width, got {real_feats.shape[1]} and {fake_feats.shape[1]}."
        )
    real, fake = real_feats.float(), fake_feats.float()
    real_radii = _kth_neighbour_radii(real, k, chunk)
    fake_radii = _kth_neighbour_radii(fake, k, chunk)
    precision = _inside_any_ball(fake, real, real_radii, chunk).float().mean()
    recall = _inside_any_ball(real, fake, fake_radii, chunk).float().mean()
    return float(precision), float(recall)


def density_coverage(real_feats: torch.Tensor, fake_feats: torch.Tensor, *, k: int = 5,
                     chunk: int = 1000) -> tuple[float, float]:
    """Density and coverage (Naeem et al., 2020) by k nearest neighbours of the real features.

    Both use only the balls around the real points, each reaching the point's k-th nearest
    neighbour among the real points; the generated set's own balls (which recall uses, and
    which a few outlying fakes blow up) play no part.

    - density: ``1/(k m) * sum over fakes of the number of real balls holding the fake``.
      About 1 when the fakes are distributed like the real data, below 1 when they sit
      outside it, above 1 when they crowd its densest regions; not capped at 1.
    - coverage: the fraction of real points whose ball holds at least one fake: how much
      of the real data the generator reaches (diversity), in [0, 1].

    Args:
        real_feats: ``(n, d)`` features of real images, ``n > k``.
        fake_feats: ``(m, d)`` features of generated images, ``m >= 1``.
        k: neighbourhood size (5 in the paper).
        chunk: rows per distance block (bounds memory to ``chunk * max(n, m)`` floats).

    Returns:
        ``(density, coverage)``: density >= 0, coverage in [0, 1].
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}.")
    check_features(real_feats, "real_feats", k + 1)
    check_features(fake_feats, "fake_feats", 1)
    if real_feats.shape[1] != fake_feats.shape[1]:
        raise ValueError(
            f"feature sets must have the same width, got {real_feats.shape[1]} and {fake_feats.shape[1]}."
        )
    real, fake = real_feats.float(), fake_feats.float()
    radii = _kth_neighbour_radii(real, k, chunk)
    balls_per_fake = torch.cat([(torch.cdist(fake[i:i + chunk], real) <= radii[None, :]).sum(dim=1)
                                for i in range(0, fake.shape[0], chunk)])
    nearest_fake = torch.cat([torch.cdist(real[i:i + chunk], fake).min(dim=1).values
                              for i in range(0, real.shape[0], chunk)])
    density = balls_per_fake.double().mean() / k
    coverage = (nearest_fake <= radii).double().mean()
    return float(density), float(coverage)
