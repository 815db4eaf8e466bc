"""Noise vectors, class labels and the ways to move between them.

Every sampler takes ``generator=`` so that a notebook can draw the same noise twice.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

TruncationMethod = Literal["quantile", "resample"]


def _check_count(n: int, name: str = "n") -> None:
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"{name} must be a positive int, got {n!r}.")


def sample_z(
    n: int,
    z_dim: int,
    *,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw noise ``z ~ N(0, I)``.

    Args:
        n: number of vectors.
        z_dim: length of each vector.
        device: where the noise lives.
        generator: optional ``torch.Generator`` for reproducible noise; it must live on
            ``device``.

    Returns:
        Tensor of shape ``(n, z_dim)``.
    """
    _check_count(n)
    _check_count(z_dim, "z_dim")
    return torch.randn(n, z_dim, device=device, generator=generator)


def sample_labels(
    n: int,
    num_classes: int,
    *,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw class labels uniformly from ``0 .. num_classes-1``.

    Returns:
        Long tensor of shape ``(n,)``.
    """
    _check_count(n)
    _check_count(num_classes, "num_classes")
    return torch.randint(num_classes, (n,), device=device, generator=generator)


def mismatched_labels(
    labels: torch.Tensor,
    num_classes: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A wrong label for every true one, uniformly among the ``num_classes - 1`` others.

    Shifting each label by a random offset in ``1 .. num_classes-1`` (modulo
    ``num_classes``) never lands on the label itself, and every other class is one offset
    away, so each is equally likely. Used for the "mismatch" term of a conditional GAN
    (:func:`ganlib.losses.d_loss_mismatch`).

    Args:
        labels: true classes ``(n,)``, integers in ``0 .. num_classes-1``.
        num_classes: number of classes, at least 2.
        generator: optional ``torch.Generator`` on ``labels.device``.

    Returns:
        Long tensor ``(n,)`` on ``labels.device`` with ``result[i] != labels[i]``.
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"mismatched labels need num_classes >= 2 (a wrong class must exist), got {num_classes!r}.")
    shift = torch.randint(1, num_classes, labels.shape, device=labels.device, generator=generator)
    return (labels + shift) % num_classes


def check_labels(labels: torch.Tensor, num_classes: int) -> None:
    """Raise a ``ValueError`` unless ``labels`` is a 1-D integer tensor in range.

    The range is read only for labels on the CPU, where it is free. Reading it from a GPU
    would make the CPU wait for every queued kernel in each training step, so labels there
    are checked once per data set instead (:func:`check_label_range`, called by
    :meth:`ganlib.data.TensorBatches.check_labels`), and sampled labels are in range by
    construction (:func:`sample_labels`).
    """
    if not isinstance(labels, torch.Tensor):
        raise ValueError(
            f"labels must be a torch.Tensor of class indices, got {type(labels).__name__}; "
            "wrap them with torch.tensor([...])."
        )
    if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise ValueError(
            f"labels must hold integer class indices, got dtype {labels.dtype}; "
            "use labels.long() if they are whole numbers."
        )
    if labels.dim() != 1:
        raise ValueError(
            f"labels must be 1-D of shape (batch,), got shape {tuple(labels.shape)}."
        )
    if labels.device.type == "cpu" and not torch.compiler.is_compiling():
        check_label_range(labels, num_classes)


def check_label_range(labels: torch.Tensor, num_classes: int) -> None:
    """Raise a ``ValueError`` unless every label lies in ``0..num_classes-1`` (reads the values: one sync)."""
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"class labels must lie in 0..{num_classes - 1}, got values from "
            f"{int(labels.min())} to {int(labels.max())}."
        )


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Encode class indices as one-hot float vectors.

    Args:
        labels: long tensor of shape ``(n,)`` with values in ``0 .. num_classes-1``.
        num_classes: number of classes.

    Returns:
        Float tensor of shape ``(n, num_classes)``.
    """
    check_labels(labels, num_classes)
    return F.one_hot(labels.long(), num_classes).float()


def truncated_noise(
    n: int,
    z_dim: int,
    truncation: float,
    *,
    seed: int = 0,
    method: TruncationMethod = "quantile",
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Noise from a normal distribution cut to ``[-truncation, truncation]``: the truncation trick.

    Small values give typical, high-fidelity samples; large values give diverse ones.
    Both methods draw from the same truncated normal (never clipped). They differ in how
    the draws for two nearby truncation values relate under one seed:

    * ``"quantile"`` fixes one uniform number ``u`` per entry (from ``seed``) and maps it
      through the inverse CDF of the truncated normal. Each entry then moves continuously
      with the truncation, so a slider changes the same samples smoothly, and a large
      truncation gives back the untruncated normal draw.
    * ``"resample"`` redraws the entries that fall outside the interval, as in BigGAN.
      Entries inside keep their value, but every redrawn entry can jump when the value changes.

    Args:
        n: number of vectors.
        z_dim: length of each vector.
        truncation: positive half-width of the interval.
        seed: the same seed gives the same samples (drawn on the CPU: the same on every device).
        method: ``"quantile"`` or ``"resample"``.
        device: where the result goes.

    Returns:
        Float32 tensor ``(n, z_dim)`` with every entry in ``[-truncation, truncation]``.
    """
    if method not in ("quantile", "resample"):
        raise ValueError(f"method must be 'quantile' or 'resample', got {method!r}.")
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not truncation > 0:
        raise ValueError(f"truncation must be a positive number (try 0.5 to 2.0), got {truncation!r}.")
    rng = torch.Generator().manual_seed(seed)
    if method == "resample":
        return _redraw_outside(sample_z(n, z_dim, generator=rng), float(truncation), rng).to(device)
    _check_count(n)
    _check_count(z_dim, "z_dim")
    u = torch.rand(n, z_dim, generator=rng, dtype=torch.float64)
    # Inverse CDF of the normal restricted to [-t, t]: Phi^-1(Phi(-t) + u (Phi(t) - Phi(-t))).
    # Float64 keeps the tails exact up to t ~ 8; beyond that the normal has no mass left.
    low = torch.special.ndtr(torch.tensor(-float(truncation), dtype=torch.float64))
    z = torch.special.ndtri(low + u * (1 - 2 * low))
    return z.clamp(-truncation, truncation).to(device=device, dtype=torch.float32)


def _redraw_outside(z: torch.Tensor, truncation: float, generator: torch.Generator) -> torch.Tensor:
    """Redraw (in place) the entries of normal noise ``z`` outside ``[-truncation, truncation]``."""
    outside = z.abs() > truncation
    # For truncation >= 0.2 this loop ends within a few rounds: each round keeps >= ~16% of the redraws.
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > truncation
    return z


def lerp(start: torch.Tensor, end: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation ``(1 - t) * start + t * end``.

    Args:
        start, end: tensors of the same shape ``(..., d)``.
        t: a float or a tensor of fractions broadcastable against ``start``, e.g.
            ``torch.linspace(0, 1, 8)[:, None]`` with ``start`` of shape ``(d,)`` gives
            8 points of shape ``(8, d)``.

    Returns:
        The interpolated tensor.
    """
    _check_same_shape(start, end)
    return torch.lerp(start, end, torch.as_tensor(t, dtype=start.dtype, device=start.device))


def slerp(
    start: torch.Tensor, end: torch.Tensor, t: torch.Tensor | float, eps: float = 1e-7
) -> torch.Tensor:
    """Spherical interpolation along the great circle between two vectors.

    Gaussian noise of high dimension lives near a sphere of radius ``sqrt(z_dim)``; a
    straight line between two samples cuts inside that sphere (its middle has a smaller
    norm than any real sample), while slerp keeps the norm typical.

    Args:
        start, end: tensors of the same shape ``(..., d)``; interpolation runs over ``d``.
        t: a float or a tensor of fractions broadcastable against ``start[..., :1]``.
        eps: below this angle the two vectors count as parallel and lerp is used.

    Returns:
        Tensor of shape broadcast(``start``, ``t``).
    """
    _check_same_shape(start, end)
    t = torch.as_tensor(t, dtype=start.dtype, device=start.device)
    start_unit = start / start.norm(dim=-1, keepdim=True).clamp_min(eps)
    end_unit = end / end.norm(dim=-1, keepdim=True).clamp_min(eps)
    cos_omega = (start_unit * end_unit).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.arccos(cos_omega)
    sin_omega = torch.sin(omega)
    parallel = sin_omega.abs() < eps
    safe_sin = torch.where(parallel, torch.ones_like(sin_omega), sin_omega)
    w_start = torch.sin((1 - t) * omega) / safe_sin
    w_end = torch.sin(t * omega) / safe_sin
    spherical = w_start * start + w_end * end
    return torch.where(parallel, torch.lerp(start, end, t), spherical)


def _check_same_shape(start: torch.Tensor, end: torch.Tensor) -> None:
    if start.shape != end.shape:
        raise ValueError(
            f"start and end must have the same shape, got {tuple(start.shape)} and "
            f"{tuple(end.shape)}."
        )
