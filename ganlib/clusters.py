"""Self-conditioning: give an unconditional GAN the help of classes without using any labels.

A conditional GAN learns much faster than an unconditional one with the same networks: told
which kind of image to draw, the generator has a far easier job (on MNIST, FD 2.0 after 650
steps against about 6 after 3,000; ``benchmarks/README.md``). Self-conditioning (Liu et al.,
"Diverse Image Generation via Self-Conditioned GANs", CVPR 2020) keeps that help for data
without labels:

1. :func:`kmeans` sorts the training images into ``k`` clusters by their pixels;
2. a conditional GAN trains on the cluster indices as if they were classes;
3. :class:`ClusterSampler` turns it back into an unconditional generator ``G(z)`` that picks
   each sample's cluster at that cluster's share of the data.

No label is read at any point, so the result is an unconditional GAN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn


def _squared_distances(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``(n, d)`` points and ``(k, d)`` centres -> ``(n, k)`` squared Euclidean distances."""
    return (points.pow(2).sum(1, keepdim=True) - 2 * points @ centres.T + centres.pow(2).sum(1)).clamp_min(0)


def kmeans(points: torch.Tensor, k: int, *, seed: int = 0, max_iter: int = 50) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means with k-means++ starting centres (seeded, so the clusters are reproducible).

    Args:
        points: ``(n, d)`` float vectors, e.g. images flattened with ``x.flatten(1)``.
        k: number of clusters, 1 <= k <= n.
        seed: seed of the k-means++ draws.
        max_iter: at most this many assign-and-update rounds (it stops earlier once no point
            changes cluster).

    Returns:
        ``(centres, assignment)``: ``(k, d)`` cluster means and ``(n,)`` int64 cluster indices.
    """
    if points.ndim != 2 or not points.is_floating_point():
        raise ValueError(f"points must be a float tensor (n, d), got {tuple(points.shape)} {points.dtype}; "
                         "flatten images with x.flatten(1).")
    if not (isinstance(k, int) and 1 <= k <= points.shape[0]):
        raise ValueError(f"k must be an int between 1 and the number of points ({points.shape[0]}), got {k!r}.")
    gen = torch.Generator().manual_seed(seed)
    # k-means++: each new centre is drawn with probability proportional to the squared distance
    # to the nearest centre so far, which spreads the start over the data.
    centres = points[torch.randint(points.shape[0], (1,), generator=gen)]
    nearest = _squared_distances(points, centres)[:, 0]
    for _ in range(1, k):
        weights = nearest if nearest.sum() > 0 else torch.ones_like(nearest)
        new = points[torch.multinomial(weights, 1, generator=gen)]
        centres = torch.cat([centres, new])
        nearest = torch.minimum(nearest, _squared_distances(points, new)[:, 0])
    assignment = torch.full((points.shape[0],), -1, dtype=torch.long)
    for _ in range(max_iter):
        new_assignment = _squared_distances(points, centres).argmin(1)
        if torch.equal(new_assignment, assignment):
            break
        assignment = new_assignment
        sums = torch.zeros_like(centres).index_add_(0, assignment, points)
        counts = torch.bincount(assignment, minlength=k).unsqueeze(1)
        # An emptied cluster keeps its old centre rather than dividing by zero.
        centres = torch.where(counts > 0, sums / counts.clamp_min(1), centres)
    return centres, assignment


@dataclass(frozen=True)
class Clustering:
    """The k-means clusters of a set of images: what a self-conditioned GAN trains on.

    Attributes:
        assignment: ``(n,)`` int64 cluster index of each image: the "labels" to train with.
        sizes: ``(k,)`` images per cluster (:class:`ClusterSampler` draws clusters in these proportions).
        centres: ``(k, C, H, W)`` mean image of each cluster, in the images' own range.
        seconds: wall-clock seconds the clustering took (part of a run's time: the notebooks
            train that much less).
    """

    assignment: torch.Tensor
    sizes: torch.Tensor
    centres: torch.Tensor
    seconds: float

    @property
    def k(self) -> int:
        """The number of clusters."""
        return len(self.sizes)


def cluster_images(images: torch.Tensor, k: int, *, seed: int = 0) -> Clustering:
    """Sort images ``(n, C, H, W)`` into ``k`` clusters by their pixels (:func:`kmeans`, on the CPU)."""
    if images.ndim != 4:
        raise ValueError(f"images must be (n, C, H, W), got shape {tuple(images.shape)}.")
    start = time.perf_counter()
    centres, assignment = kmeans(images.detach().flatten(1).float().cpu(), k, seed=seed)
    return Clustering(assignment=assignment.to(images.device), sizes=torch.bincount(assignment, minlength=k),
                      centres=centres.view(k, *images.shape[1:]), seconds=time.perf_counter() - start)


class ClusterSampler(nn.Module):
    """An unconditional generator ``G(z)`` made of a cluster-conditional one ``G(z, cluster)``.

    The clusters are drawn at random in proportion to ``cluster_sizes`` (the number of training
    images in each cluster), so the samples follow the data's mix of clusters. Every call draws
    from the same seeded sequence: the i-th sample of a call always gets the same cluster, so
    the same ``z`` gives the same images, as with any generator (a fixed-noise grid stays fixed).

    Args:
        G: conditional generator network taking ``(z (n, z_dim), clusters (n,))``; needs ``z_dim``.
        cluster_sizes: ``(k,)`` counts (or any non-negative weights) of the clusters.
        seed: seed of the cluster draws (the noise ``z`` comes from the caller).
    """

    def __init__(self, G: nn.Module, cluster_sizes: torch.Tensor, *, seed: int = 0) -> None:
        super().__init__()
        weights = torch.as_tensor(cluster_sizes, dtype=torch.float).cpu()
        if weights.ndim != 1 or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("cluster_sizes must be a 1-D tensor of non-negative counts with a positive sum, "
                             f"e.g. Clustering.sizes; got {cluster_sizes!r}.")
        self.G, self.z_dim, self.seed = G, G.z_dim, seed
        self.weights = weights  # not a buffer: it is not part of the generator's weights

    def clusters(self, n: int) -> torch.Tensor:
        """The clusters of the first ``n`` samples of every call, ``(n,)`` int64 on the CPU."""
        draws = torch.Generator().manual_seed(self.seed)
        return torch.multinomial(self.weights, n, replacement=True, generator=draws)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Args: z ``(n, z_dim)``. Returns: images ``(n, C, H, W)``."""
        return self.G(z, self.clusters(z.shape[0]).to(z.device))
