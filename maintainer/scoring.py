"""Scoring generators the same way at every point of a run, so that the scores compare."""

from __future__ import annotations

import torch
from torch import nn

from ganlib.acgan_training import LabelledGenerator
from ganlib.clusters import Clustering, ClusterSampler
from ganlib.metrics import evaluate_generator, features
from ganlib.train import GAN


def score_gan(gan: GAN, evaluator: nn.Module, x_test: torch.Tensor, real_features: torch.Tensor, num_samples: int,
              *, scale: str, seed: int = 0, clustering: Clustering | None = None) -> dict[str, float]:
    """FD, precision, recall (and class accuracy for a conditional GAN) of ``gan``'s sampler, rounded.

    Args:
        gan: the training state; its sampler (the EMA generator when there is one) is scored
            in eval mode, as the notebooks draw it.
        evaluator, x_test, real_features: the MNIST evaluator, test images in [0, 1] and their features.
        num_samples: generated images to score.
        scale: the generator's output range, ``"unit"`` or ``"tanh"``.
        seed: seed of the scoring noise.
        clustering: for a self-conditioned run, its clusters: the samples are scored as an
            unconditional generator's, each from a cluster drawn at its share of the data.
    """
    sampler, num_classes = gan.sampler, gan.num_classes
    if clustering is not None:
        sampler, num_classes = ClusterSampler(gan.sampler, clustering.sizes), None
    scores = evaluate_generator(sampler, evaluator, x_test, scale=scale, num_classes=num_classes,
                                num_samples=num_samples, generator=torch.Generator().manual_seed(seed),
                                real_features=real_features)
    return {k: v if isinstance(v, int) else round(float(v), 4) for k, v in scores.items()}


class ACGANScorer:
    """One fixed way to score an ACGAN generator, so that every score of a run compares.

    A run is scored while it trains (``maintainer/train_acgan_cifar10.py``), again later from its
    snapshots with a newer evaluator (``maintainer/ship_acgan_cifar10.py --rescore``) and in the
    lever probes (``benchmarks/acgan_levers.py``); all of them use this: the same real images,
    the same number of conditional samples (every class equally often) from the same noise.

    Args:
        evaluator: the data set's evaluator (``ganlib.metrics.load_evaluator("cifar10")``).
        real: ``(n, 3, H, W)`` real test images in [0, 1]; their features are computed once.
        num_samples: generated images per score.
        num_classes: classes written into the noise (see :class:`LabelledGenerator`).
        seed: seed of the noise, the same at every call.
        with_density_coverage: also score density and coverage (Naeem et al. 2020), which
            still move while recall sits at zero early in a run.
    """

    METRICS = ("class_accuracy", "fd", "precision", "recall")

    def __init__(self, evaluator: nn.Module, real: torch.Tensor, num_samples: int, num_classes: int = 10,
                 seed: int = 1, with_density_coverage: bool = False) -> None:
        self.evaluator, self.real, self.num_samples = evaluator, real, num_samples
        self.num_classes, self.seed = num_classes, seed
        self.metrics = self.METRICS + (("density", "coverage") if with_density_coverage else ())
        self.real_features = features(evaluator, real)

    def __call__(self, G: nn.Module, **options) -> dict[str, float]:
        """Scores of ``G(z)`` (images in [-1, 1]), rounded to 4 digits.

        ``options`` go to :func:`ganlib.metrics.evaluate_generator` (e.g. ``use_batch_stats``).
        """
        scores = evaluate_generator(LabelledGenerator(G, self.num_classes), self.evaluator, self.real,
                                    scale="tanh", num_classes=self.num_classes, num_samples=self.num_samples,
                                    generator=torch.Generator().manual_seed(self.seed),
                                    real_features=self.real_features,
                                    with_density_coverage="density" in self.metrics, **options)
        return {k: round(scores[k], 4) for k in self.metrics}
