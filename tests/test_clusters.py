"""Self-conditioning (ganlib.clusters): k-means on images, and the unconditional sampler over clusters."""

from __future__ import annotations

import pytest
import torch

from ganlib.clusters import ClusterSampler, cluster_images, kmeans


def _three_blobs(n_per: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Points around three far-apart centres in 5-D, and which centre each came from."""
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0] * 5, [10.0] * 5, [-10.0, 10.0, -10.0, 10.0, -10.0]])
    truth = torch.arange(3).repeat_interleave(n_per)
    return centres[truth] + 0.5 * torch.randn(3 * n_per, 5, generator=gen), truth


def test_kmeans_finds_well_separated_groups_and_their_means():
    points, truth = _three_blobs()
    centres, assignment = kmeans(points, 3, seed=1)
    # the same grouping as the truth, up to renaming the clusters
    pairs = {(int(a), int(t)) for a, t in zip(assignment, truth)}
    assert len(pairs) == 3 and len({a for a, _ in pairs}) == 3
    for c in range(3):
        torch.testing.assert_close(centres[c], points[assignment == c].mean(0))


def test_kmeans_is_reproducible_and_rejects_bad_input():
    points, _ = _three_blobs()
    a1, a2 = kmeans(points, 4, seed=7)[1], kmeans(points, 4, seed=7)[1]
    assert torch.equal(a1, a2)
    with pytest.raises(ValueError, match="between 1 and"):
        kmeans(points, 0)
    with pytest.raises(ValueError, match="between 1 and"):
        kmeans(points, len(points) + 1)
    with pytest.raises(ValueError, match="flatten"):
        kmeans(torch.zeros(4, 1, 2, 2), 2)


def test_cluster_images_returns_assignment_sizes_and_centre_images():
    points, _ = _three_blobs(20)
    images = points[:, :4].reshape(-1, 1, 2, 2)
    clustering = cluster_images(images, 3)
    assert clustering.k == 3 and clustering.assignment.shape == (60,)
    assert clustering.sizes.sum() == 60 and clustering.centres.shape == (3, 1, 2, 2)
    assert clustering.seconds >= 0
    with pytest.raises(ValueError, match="n, C, H, W"):
        cluster_images(points, 3)


class _Echo(torch.nn.Module):
    """A 'conditional generator' that returns the cluster it was given as a 1x1 image."""

    z_dim = 2

    def forward(self, z, clusters):
        return clusters.float().view(-1, 1, 1, 1) + 0 * z[:, :1, None, None]


def test_cluster_sampler_draws_clusters_at_their_share_and_is_a_function_of_z():
    sampler = ClusterSampler(_Echo(), torch.tensor([1, 0, 3]))
    drawn = sampler(torch.zeros(4000, 2)).flatten().long()
    shares = torch.bincount(drawn, minlength=3).float() / len(drawn)
    assert shares[1] == 0 and abs(shares[0] - 0.25) < 0.03 and abs(shares[2] - 0.75) < 0.03
    z = torch.randn(16, 2)
    assert torch.equal(sampler(z), sampler(z))  # a fixed-noise grid stays fixed
    with pytest.raises(ValueError, match="non-negative"):
        ClusterSampler(_Echo(), torch.tensor([-1, 2]))
