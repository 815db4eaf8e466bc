"""Walks through a conditional generator's inputs: classes, noise and truncation (notebook 05).

A conditional generator reads a noise vector ``z`` and a class code. Three walks show
what it learned:

* class interpolation: keep ``z`` fixed and slide the class code from one class to
  another. The one-hot generator reads ``[z, c]`` with ``c`` a one-hot vector, so a
  "soft" vector ``c = (1 - t) * one_hot(a) + t * one_hot(b)`` is a point between two
  classes; the embedding generator reads ``z * e``, so we blend the embeddings instead;
  the ACGAN generator of notebook 04 (wrapped in a :class:`LabelledGenerator`) reads
  the code in the first entries of its noise, so the soft code goes there.
* noise interpolation: keep the class fixed and move ``z`` along a straight line (lerp)
  or along the sphere where Gaussian noise lives (slerp).
* truncation: draw ``z`` from a normal cut to ``[-t, t]``, or pull it toward the mean
  (``mean + psi * (z - mean)``); small ``t`` or ``psi`` gives typical, clean samples
  (fidelity), large ones give varied samples (diversity).

Every function returns image tensors in the generator's range ([-1, 1] for tanh
generators) and runs without gradients; :func:`ganlib.viz.plot_filmstrip` draws them.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from ganlib.acgan_training import LabelledGenerator
from ganlib.models.cgan import EmbeddingConditionalGenerator, OneHotConditionalGenerator
from ganlib.noise import TruncationMethod, check_labels, lerp, slerp, truncated_noise
from ganlib.walk_checks import (
    Fractions,
    check_class,
    check_eval_mode,
    check_fractions,
    check_method,
    conditional_classes,
    module_device,
)

Method = Literal["lerp", "slerp"]


# ------------------------------------------------------------------ class interpolation
def soft_class_code(start_class: int, end_class: int, fractions: Fractions, num_classes: int) -> torch.Tensor:
    """Class vectors part way between two one-hot vectors.

    Args:
        start_class, end_class: class indices in ``0 .. num_classes-1``.
        fractions: where to stop, each in [0, 1] (0 gives ``start_class``, 1 ``end_class``).
        num_classes: length of the class vector.

    Returns:
        Float tensor ``(k, num_classes)``: ``(1 - t) * one_hot(start) + t * one_hot(end)``
        for each of the ``k`` fractions ``t``.
    """
    start_class = check_class(start_class, num_classes, "start_class")
    end_class = check_class(end_class, num_classes, "end_class")
    t = check_fractions(fractions).float()
    code = torch.zeros(t.numel(), num_classes)
    code[:, start_class] += 1 - t
    code[:, end_class] += t  # += so that start == end still sums to 1
    return code


@torch.no_grad()
def run_with_class_code(G: nn.Module, z: torch.Tensor, class_code: torch.Tensor) -> torch.Tensor:
    """Run a conditional generator on noise and (soft) class vectors, bypassing labels.

    Args:
        G: a :class:`OneHotConditionalGenerator` (reads ``[z, code]``), an
            :class:`EmbeddingConditionalGenerator` (reads ``z * (code @ embeddings)``, a
            blend of the class embeddings) or a :class:`LabelledGenerator` around an ACGAN
            generator (reads ``z`` with its first ``num_classes`` entries replaced by the
            code), in eval mode.
        z: noise ``(n, z_dim)``.
        class_code: class vectors ``(n, num_classes)``; one-hot rows give exactly what
            ``G(z, labels)`` gives.

    Returns:
        Images ``(n, C, H, W)`` on the generator's device.
    """
    check_eval_mode(G)
    num_classes = conditional_classes(G)
    if z.dim() != 2 or z.shape[1] != G.z_dim:
        raise ValueError(f"z must have shape (n, {G.z_dim}), got {tuple(z.shape)}.")
    if class_code.shape != (z.shape[0], num_classes):
        raise ValueError(
            f"class_code must have shape ({z.shape[0]}, {num_classes}) to match z, "
            f"got {tuple(class_code.shape)}."
        )
    device = module_device(G)
    z, class_code = z.to(device), class_code.to(device=device, dtype=z.dtype)
    if isinstance(G, OneHotConditionalGenerator):
        return G.body(torch.cat([z, class_code], dim=1))
    if isinstance(G, EmbeddingConditionalGenerator):
        # A soft code times the embedding table is the same blend of the class embeddings.
        return G.body(z * (class_code @ G.label_embedding.weight))
    if isinstance(G, LabelledGenerator):
        return G.G(torch.cat([class_code, z[:, num_classes:]], dim=1))
    raise ValueError(
        f"run_with_class_code does not know how {type(G).__name__} reads its class; it supports "
        "OneHotConditionalGenerator, EmbeddingConditionalGenerator and LabelledGenerator (ACGAN)."
    )


def interpolate_classes(
    G: nn.Module, z: torch.Tensor, start_class: int, end_class: int, fractions: Fractions
) -> torch.Tensor:
    """Images that morph from one class to another while the noise stays fixed.

    Args:
        G: a conditional generator in eval mode (see :func:`run_with_class_code`).
        z: noise ``(n, z_dim)``: one filmstrip per row.
        start_class, end_class: the classes at fraction 0 and fraction 1.
        fractions: ``k`` fractions in [0, 1].

    Returns:
        Images ``(n, k, C, H, W)``: row ``i`` is noise ``z[i]`` at every fraction.
    """
    num_classes = conditional_classes(G)
    code = soft_class_code(start_class, end_class, fractions, num_classes)  # (k, classes)
    n, k = z.shape[0], code.shape[0]
    # Every (noise, fraction) pair in one batch: noise repeats along the frames.
    z_all = z.repeat_interleave(k, dim=0)
    code_all = code.repeat(n, 1)
    images = run_with_class_code(G, z_all, code_all)
    return images.view(n, k, *images.shape[1:])


# ------------------------------------------------------------------ noise interpolation
def noise_path(z_start: torch.Tensor, z_end: torch.Tensor, fractions: Fractions,
               method: Method = "slerp") -> torch.Tensor:
    """Points between two noise vectors, along a straight line or a great circle.

    Args:
        z_start, z_end: noise ``(z_dim,)`` or ``(n, z_dim)``, same shape.
        fractions: ``k`` fractions in [0, 1].
        method: ``"lerp"`` (straight line) or ``"slerp"`` (spherical).

    Returns:
        ``(k, z_dim)`` for 1-D inputs, ``(n, k, z_dim)`` for 2-D inputs.
    """
    check_method(method, ("lerp", "slerp"))
    if z_start.shape != z_end.shape or z_start.dim() not in (1, 2):
        raise ValueError(
            "z_start and z_end must have the same shape, (z_dim,) or (n, z_dim); got "
            f"{tuple(z_start.shape)} and {tuple(z_end.shape)}."
        )
    t = check_fractions(fractions).to(device=z_start.device, dtype=z_start.dtype)[:, None]  # (k, 1)
    walk = lerp if method == "lerp" else slerp
    # (..., 1, d) against (k, 1) broadcasts to (..., k, d).
    return walk(z_start.unsqueeze(-2).expand(*z_start.shape[:-1], t.shape[0], -1),
                z_end.unsqueeze(-2).expand(*z_end.shape[:-1], t.shape[0], -1), t)


def _labels_for(labels: int | torch.Tensor, n: int, num_classes: int, device: torch.device) -> torch.Tensor:
    if isinstance(labels, int) and not isinstance(labels, bool):
        labels = torch.full((n,), check_class(labels, num_classes, "labels"), dtype=torch.long)
    check_labels(labels, num_classes)
    if labels.shape[0] != n:
        raise ValueError(f"labels must have one class per noise row: got {labels.shape[0]} for {n} rows.")
    return labels.to(device)


@torch.no_grad()
def interpolate_noise(
    G: nn.Module,
    z_start: torch.Tensor,
    z_end: torch.Tensor,
    fractions: Fractions,
    labels: int | torch.Tensor,
    method: Method = "slerp",
) -> torch.Tensor:
    """Images along a path between two noise vectors, with the class held fixed.

    Args:
        G: a conditional generator ``G(z, labels)`` in eval mode.
        z_start, z_end: noise ``(n, z_dim)``: one filmstrip per row.
        fractions: ``k`` fractions in [0, 1].
        labels: one class for every row (an int) or one per row, a long tensor ``(n,)``.
        method: ``"lerp"`` or ``"slerp"``.

    Returns:
        Images ``(n, k, C, H, W)``.
    """
    check_eval_mode(G)
    if z_start.dim() != 2:
        raise ValueError(f"z_start must have shape (n, z_dim), got {tuple(z_start.shape)}.")
    device = module_device(G)
    path = noise_path(z_start.to(device), z_end.to(device), fractions, method)  # (n, k, d)
    n, k = path.shape[:2]
    labels = _labels_for(labels, n, conditional_classes(G), device)
    images = G(path.reshape(n * k, -1), labels.repeat_interleave(k))
    return images.view(n, k, *images.shape[1:])


# ----------------------------------------------------------------------- truncation
@torch.no_grad()
def truncation_samples(
    G: nn.Module,
    truncation: float,
    labels: torch.Tensor,
    *,
    seed: int = 0,
    method: TruncationMethod = "quantile",
) -> torch.Tensor:
    """Samples from truncated noise; the same seed gives the same samples at every value.

    Args:
        G: a conditional generator ``G(z, labels)`` in eval mode.
        truncation: positive half-width of the noise interval (see :func:`ganlib.noise.truncated_noise`).
        labels: class of each sample, a long tensor ``(n,)``.
        seed: noise seed.
        method: ``"quantile"`` (smooth in ``truncation``) or ``"resample"``.

    Returns:
        Images ``(n, C, H, W)``.
    """
    check_eval_mode(G)
    device = module_device(G)
    check_labels(labels, conditional_classes(G))
    labels = labels.to(device)
    z = truncated_noise(labels.shape[0], G.z_dim, truncation, seed=seed, method=method, device=device)
    return G(z, labels)



def truncate_toward_mean(z: torch.Tensor, psi: float, mean: torch.Tensor | float | None = None) -> torch.Tensor:
    """Pull noise toward the mean of its distribution: ``mean + psi * (z - mean)``.

    The truncation of StyleGAN-style generators: ``psi = 1`` keeps ``z`` (all the
    diversity), ``psi = 0`` gives the mean for every row (the generator's "average"
    image), values in between shrink the spread by ``psi`` without cutting the tails.

    Args:
        z: noise ``(n, z_dim)`` (any shape works); not modified.
        psi: the factor, usually in [0, 1].
        mean: the distribution's mean, a number or a tensor that broadcasts against ``z``
            (e.g. ``(z_dim,)``); None means 0, the mean of ``N(0, I)``.

    Returns:
        A new tensor with the shape, dtype and device of ``z``.
    """
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not math.isfinite(psi):
        raise ValueError(f"psi must be a finite number (1 keeps z, 0 gives the mean), got {psi!r}.")
    if mean is None:
        return z * psi
    mean = torch.as_tensor(mean, dtype=z.dtype, device=z.device)
    return mean + psi * (z - mean)

# ------------------------------------------------------------------- class switch point
def switch_fractions(fractions: Fractions, p_end: torch.Tensor, level: float = 0.5) -> torch.Tensor:
    """Where along each class walk a judge starts to see the end class.

    Args:
        fractions: ``k`` increasing fractions in [0, 1], the frames of the walks.
        p_end: ``(n, k)`` probability of the end class at each frame of ``n`` walks (e.g. an
            evaluator's softmax for the end class).
        level: the probability that counts as "switched".

    Returns:
        Float tensor ``(n,)``: per walk, the first fraction where ``p_end`` reaches ``level``,
        linearly interpolated between the two frames around the crossing; the first fraction
        when the walk starts at or above ``level``; NaN when it never gets there.
    """
    t = check_fractions(fractions).float()
    if t.numel() >= 2 and not (t[1:] > t[:-1]).all():
        raise ValueError(f"fractions must increase strictly, got {t.tolist()}.")
    if p_end.dim() != 2 or p_end.shape[1] != t.numel():
        raise ValueError(f"p_end must have shape (n, {t.numel()}) (one value per walk and frame), "
                         f"got {tuple(p_end.shape)}.")
    p = p_end.detach().float().cpu()
    above = p >= level
    first = above.float().argmax(dim=1)  # first frame at or above the level (0 when none is)
    result = torch.full((p.shape[0],), float("nan"))
    starts_above = above[:, 0]
    result[starts_above] = t[0]
    crossing = above.any(dim=1) & ~starts_above
    rows, after = crossing.nonzero().squeeze(1), first[crossing]
    before = after - 1
    p0, p1 = p[rows, before], p[rows, after]
    # p0 < level <= p1: the straight line between the two frames reaches the level here.
    result[rows] = t[before] + (level - p0) / (p1 - p0) * (t[after] - t[before])
    return result
