"""Sample-quality metrics that work offline, in the feature space of a small evaluator CNN.

FID compares Gaussian fits of Inception features of real and generated images. Inception
weights cannot be downloaded here and know little about digits, so the course trains its
own evaluator per data set (:func:`load_evaluator` picks it from the registry) and computes:

- the Frechet distance (FD) between Gaussian fits of evaluator features. Report it next
  to the real-vs-real FD (train subset vs test set): that is what "perfect" scores here.
- precision and recall by k nearest neighbours (Kynkaanniemi et al., 2019): precision is
  the fraction of generated samples inside the real data's k-NN balls (fidelity), recall
  the fraction of real samples inside the generated data's balls (diversity).
- density and coverage (Naeem et al., 2020), from the real data's k-NN balls only, so that
  a few outlying fakes cannot inflate them: density counts how many real balls hold each
  generated sample (about 1 for samples like the real data), coverage is the fraction of
  real balls that hold at least one generated sample.
- class accuracy: how often the evaluator recognises the class a conditional generator
  was asked for.
- sample diversity: the mean pixel distance between samples (no evaluator needed).

Numbers from this evaluator are comparable with each other, not with published FIDs.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganlib.classifier import evaluate_accuracy, predict
from ganlib.data.scaling import Scale, to_unit_range
from ganlib.knn_metrics import density_coverage, precision_recall
from ganlib.metric_inputs import check_features, check_images
from ganlib.pretrained import EVALUATORS, load_pretrained
from ganlib.sampling import sample_balanced

__all__ = ["class_accuracy", "density_coverage", "evaluate_generator", "features", "frechet_distance",
           "load_evaluator", "per_class_accuracy", "precision_recall", "real_vs_real_fd", "sample_diversity"]


def load_evaluator(dataset: str, device: torch.device | str | None = None) -> nn.Module:
    """The registered evaluator of a data set (``"mnist"`` or ``"cifar10"``), in eval mode.

    Raises:
        ValueError: unknown data set.
        FileNotFoundError: its weights are not shipped yet; the message gives the command that trains them.
    """
    from ganlib.data import dataset_key  # the data package is only needed to spell the name

    return load_pretrained(EVALUATORS[dataset_key(dataset)], device)


@torch.no_grad()
def features(evaluator: nn.Module, images: torch.Tensor, *, scale: Scale = "unit",
             batch_size: int = 500) -> torch.Tensor:
    """Penultimate-layer features of ``images``, computed in batches in eval mode.

    Args:
        evaluator: a model with a ``features(x01)`` method (e.g. the shipped evaluator).
        images: ``(n, C, H, W)`` in the range given by ``scale``.
        scale: ``"unit"`` for [0, 1] images, ``"tanh"`` for [-1, 1] (DCGAN outputs).
        batch_size: images per forward pass (bounds memory on a CPU).

    Returns:
        Float64 tensor ``(n, feature_dim)`` on the CPU.
    """
    check_images(images)
    evaluator.eval()
    device = next(evaluator.parameters()).device
    chunks = [evaluator.features(to_unit_range(images[i:i + batch_size].to(device), scale)).double().cpu()
              for i in range(0, images.shape[0], batch_size)]
    return torch.cat(chunks)


def _mean_cov(feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    feats = feats.double()
    mean = feats.mean(0)
    centred = feats - mean
    return mean, centred.T @ centred / (feats.shape[0] - 1)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix via its eigen-decomposition."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Frechet distance between Gaussian fits of two feature sets.

    ``||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the matrix
    square root equals the sum of the square roots of the eigenvalues of the symmetric
    matrix ``S_a^(1/2) S_b S_a^(1/2)``, which avoids a non-symmetric ``sqrtm``.

    Args:
        feats_a: ``(n, d)`` features, ``n >= 2``.
        feats_b: ``(m, d)`` features, ``m >= 2``.

    Returns:
        The distance (>= 0; 0 for identical sets).
    """
    check_features(feats_a, "feats_a")
    check_features(feats_b, "feats_b")
    if feats_a.shape[1] != feats_b.shape[1]:
        raise ValueError(
            f"feature sets must have the same width, got {feats_a.shape[1]} and {feats_b.shape[1]}; "
            "compute both with the same evaluator."
        )
    mean_a, cov_a = _mean_cov(feats_a)
    mean_b, cov_b = _mean_cov(feats_b)
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(float(distance), 0.0)


def class_accuracy(evaluator: nn.Module, images: torch.Tensor, labels: torch.Tensor, *,
                   scale: Scale = "unit", batch_size: int = 500) -> float:
    """Fraction of ``images`` that the evaluator assigns to ``labels``.

    Args:
        evaluator: a classifier taking [0, 1] images.
        images: ``(n, C, H, W)`` in the range given by ``scale``.
        labels: ``(n,)`` requested classes.
        scale: ``"unit"`` for [0, 1] images, ``"tanh"`` for [-1, 1].
        batch_size: images per forward pass.

    Returns:
        Accuracy in [0, 1] (:func:`ganlib.classifier.evaluate_accuracy` on the rescaled images).
    """
    check_images(images)
    if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels must have shape ({images.shape[0]},), one per image, got {shape}.")
    device = next(evaluator.parameters()).device
    return evaluate_accuracy(evaluator, to_unit_range(images, scale).to(device), labels.to(device),
                             batch_size=batch_size)


def per_class_accuracy(evaluator: nn.Module, images: torch.Tensor, labels: torch.Tensor, num_classes: int, *,
                       scale: Scale = "unit", batch_size: int = 500) -> torch.Tensor:
    """For each class, the fraction of its images that the evaluator assigns to it.

    Args:
        evaluator: a classifier taking [0, 1] images.
        images: ``(n, C, H, W)`` in the range given by ``scale``.
        labels: ``(n,)`` requested classes; every class in ``0 .. num_classes-1`` must occur.
        num_classes: number of classes.
        scale: ``"unit"`` for [0, 1] images, ``"tanh"`` for [-1, 1].
        batch_size: images per forward pass.

    Returns:
        Float tensor ``(num_classes,)`` on the CPU, each entry in [0, 1].
    """
    check_images(images)
    labels = labels.cpu()
    counts = torch.bincount(labels, minlength=num_classes)
    if labels.shape != (images.shape[0],) or counts.numel() != num_classes or (counts == 0).any():
        raise ValueError(f"labels must have shape ({images.shape[0]},) and name every class 0..{num_classes - 1} "
                         f"at least once; got counts {counts.tolist()}.")
    device = next(evaluator.parameters()).device
    predicted = predict(evaluator, to_unit_range(images, scale).to(device), batch_size=batch_size).cpu()
    hits = torch.bincount(labels[predicted == labels], minlength=num_classes)
    return hits.double() / counts.double()


def evaluate_generator(model: nn.Module, evaluator: nn.Module, real_images: torch.Tensor, *,
                       scale: Scale, num_classes: int | None = None, num_samples: int = 10_000,
                       z_dim: int | None = None, k: int = 5, generator: torch.Generator | None = None,
                       batch_size: int = 500, real_features: torch.Tensor | None = None,
                       use_batch_stats: bool = False, per_class: bool = False,
                       with_density_coverage: bool = False) -> dict:
    """All metrics of one generator against a set of real images (e.g. the test set).

    Args:
        model: unconditional ``G(z)`` or conditional ``G(z, labels)`` generator.
        evaluator: the data set's evaluator (see :func:`ganlib.pretrained.load_pretrained`).
        real_images: ``(n, C, H, W)`` real images in [0, 1].
        scale: output range of the generator: ``"unit"`` ([0, 1]) or ``"tanh"`` ([-1, 1]).
        num_classes: set for a conditional generator; adds ``class_accuracy``.
        num_samples: generated images to score.
        z_dim: noise length (default: ``model.z_dim``).
        k: neighbourhood size of precision / recall.
        generator: CPU ``torch.Generator`` for the noise.
        batch_size: images per forward pass.
        real_features: precomputed ``features(evaluator, real_images)`` to save time.
        use_batch_stats: sample with BatchNorm batch statistics (see :func:`ganlib.sampling.sample`).
        per_class: for a conditional generator, also return ``"per_class_accuracy"``, a list of
            ``num_classes`` accuracies measured on the same samples.
        with_density_coverage: also return ``"density"`` and ``"coverage"`` (see
            :func:`density_coverage`, same ``k``) of the same samples.

    Returns:
        ``{"fd", "precision", "recall", "num_samples"}`` plus ``"class_accuracy"`` for a
        conditional generator (and ``"per_class_accuracy"``, ``"density"`` and ``"coverage"``
        when asked).
    """
    check_images(real_images, "real_images")
    if per_class and not num_classes:
        raise ValueError("per_class needs num_classes: it is only defined for a conditional generator.")
    fakes, labels = sample_balanced(model, num_samples, z_dim, num_classes=num_classes, generator=generator,
                                    batch_size=batch_size, use_batch_stats=use_batch_stats)
    check_images(fakes, "The generator's samples")
    real = real_features if real_features is not None else features(evaluator, real_images, batch_size=batch_size)
    fake = features(evaluator, fakes, scale=scale, batch_size=batch_size)
    precision, recall = precision_recall(real, fake, k=k)
    result = {"fd": frechet_distance(real, fake), "precision": precision, "recall": recall,
              "num_samples": num_samples}
    if num_classes:
        result["class_accuracy"] = class_accuracy(evaluator, fakes, labels, scale=scale, batch_size=batch_size)
    if with_density_coverage:
        result["density"], result["coverage"] = density_coverage(real, fake, k=k)
    if not all(math.isfinite(v) for v in result.values()):
        raise ValueError(f"a metric is not finite: {result}; the generator may output NaN.")
    if per_class:
        result["per_class_accuracy"] = per_class_accuracy(evaluator, fakes, labels, num_classes, scale=scale,
                                                          batch_size=batch_size).tolist()
    return result


def sample_diversity(images: torch.Tensor) -> float:
    """Mean distance between every pair of images, per pixel: a rough diversity score.

    Args:
        images: ``(n, C, H, W)`` with ``n >= 2``.

    Returns:
        The root-mean-square pixel difference averaged over all pairs (0 when all equal).
    """
    if images.dim() != 4 or images.shape[0] < 2:
        raise ValueError(f"images must have shape (n >= 2, C, H, W), got {tuple(images.shape)}.")
    flat = images.detach().flatten(1).double()
    distances = torch.cdist(flat, flat) / math.sqrt(flat.shape[1])
    n = flat.shape[0]
    return float(distances.sum() / (n * (n - 1)))


def real_vs_real_fd(evaluator: nn.Module, train_images: torch.Tensor, test_images: torch.Tensor, *,
                    num_samples: int = 10_000, generator: torch.Generator | None = None) -> float:
    """FD between a random subset of the training images and the test images: the floor.

    Args:
        evaluator: the data set's evaluator.
        train_images: ``(N, C, H, W)`` in [0, 1].
        test_images: ``(M, C, H, W)`` in [0, 1].
        num_samples: size of the training subset.
        generator: CPU ``torch.Generator`` choosing the subset.

    Returns:
        The Frechet distance a perfect generator would score, up to sampling noise.
    """
    check_images(train_images, "train_images")
    index = torch.randperm(train_images.shape[0], generator=generator)[:num_samples]
    return frechet_distance(features(evaluator, train_images[index]), features(evaluator, test_images))
