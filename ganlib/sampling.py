"""Drawing images from a generator: in eval mode, without gradients, the mode restored afterwards.

In training mode BatchNorm normalises each batch with its own statistics (and updates its
running averages), so samples would depend on what else is in the batch. Every sample the
course shows or scores therefore goes through :func:`sample`, which switches the network
to eval mode for the call and puts it back as it was.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Iterator

import torch
from torch import nn

from ganlib.noise import sample_z


@contextlib.contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode inside the block and restore every submodule's previous mode after it.

    Each submodule gets its own mode back, not the top module's: a wrapper made around a model in
    eval mode (``LabelledGenerator(G)``, in training mode as every new module is) must not leave
    ``G`` in training mode, where its BatchNorm layers would normalise with each batch's statistics.
    """
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, was_training in modes:
            m.training = was_training


@torch.no_grad()
def sample(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None, *, batch_size: int = 500,
           use_batch_stats: bool = False) -> torch.Tensor:
    """Images ``G(z)`` (or ``G(z, labels)``) in eval mode, in batches, as float32 on the CPU.

    Args:
        G: an unconditional ``G(z)`` or conditional ``G(z, labels)`` generator.
        z: noise ``(n, z_dim)``; moved to ``G``'s device batch by batch.
        labels: classes ``(n,)`` for a conditional generator, else None.
        batch_size: images per forward pass (bounds memory), a positive int.
        use_batch_stats: normalise with each batch's own statistics (BatchNorm in train
            mode, as a training loop samples) instead of the running averages; a copy of
            ``G`` is used so that its running averages stay untouched.

    Returns:
        Images ``(n, C, H, W)`` in ``G``'s output range, float32 on the CPU.

    Raises:
        ValueError: ``batch_size`` is not a positive int, ``z`` has no rows, ``labels`` has
            another length; the generator's own checks refuse noise of another shape or
            dtype and NaN or infinite noise.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int (images per forward pass), got {batch_size!r}.")
    if not isinstance(z, torch.Tensor) or z.dim() == 0 or z.shape[0] == 0:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"z must hold at least one row of noise, shape (n, z_dim), got {shape}.")
    if labels is not None and labels.shape[0] != z.shape[0]:
        raise ValueError(f"labels must hold one class per noise row: got {labels.shape[0]} for {z.shape[0]} rows.")
    device = next(G.parameters()).device
    net = copy.deepcopy(G).train() if use_batch_stats else G
    with contextlib.nullcontext() if use_batch_stats else eval_mode(G):
        images = []
        for i in range(0, z.shape[0], batch_size):
            zb = z[i:i + batch_size].to(device)
            out = net(zb) if labels is None else net(zb, labels[i:i + batch_size].to(device))
            images.append(out.float().cpu())
    return torch.cat(images)


def sample_balanced(G: nn.Module, num_samples: int, z_dim: int | None = None, *, num_classes: int | None = None,
                    generator: torch.Generator | None = None, batch_size: int = 500,
                    use_batch_stats: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Draw ``num_samples`` images with fresh noise; a conditional generator gets every class equally often.

    Args:
        G: ``G(z)`` or ``G(z, labels)``.
        num_samples: how many images.
        z_dim: the generator's noise length (default: ``G.z_dim``).
        num_classes: classes of a conditional generator (labels ``0, 1, ..., 9, 0, ...``);
            None for an unconditional one.
        generator: CPU ``torch.Generator`` for the noise: the same samples on every device.
        batch_size, use_batch_stats: as in :func:`sample`.

    Returns:
        ``(images (num_samples, C, H, W) float32 on the CPU, labels (num_samples,) or None)``.
    """
    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}.")
    z_dim = z_dim if z_dim is not None else getattr(G, "z_dim", None)
    if z_dim is None:
        raise ValueError("The generator has no z_dim attribute; pass z_dim=... explicitly.")
    labels = torch.arange(num_samples) % num_classes if num_classes else None
    z = sample_z(num_samples, z_dim, generator=generator)
    return sample(G, z, labels, batch_size=batch_size, use_batch_stats=use_batch_stats), labels


@torch.no_grad()
def recalibrate_batchnorm(G: nn.Module, z_dim: int, num_classes: int | None = None, *, num_batches: int = 40,
                          batch_size: int = 256, seed: int = 0) -> nn.Module:
    """Recompute the BatchNorm running statistics of a generator from fresh noise; returns it in eval mode.

    A moving average of the weights (``make_gan(ema_decay=...)``) comes with a moving
    average of the BatchNorm running statistics, which were measured on older weights and
    fit the averaged ones poorly (the SWA paper's point too). Averaging the batch statistics
    of fresh noise batches through the averaged weights fixes that. Changes ``G`` in place:
    pass a copy to keep the original.

    Args:
        G: an unconditional ``G(z)`` or conditional ``G(z, labels)`` generator.
        z_dim: its noise length.
        num_classes: classes of a conditional generator (every class equally often), else None.
        num_batches, batch_size: how much noise to average over.
        seed: seed of the noise (drawn on the CPU: the same statistics on every device).

    Returns:
        ``G`` itself, in eval mode.
    """
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for module in norms:
        module.reset_running_stats()
        module.momentum = None  # a cumulative average over all the batches below
    G.train()
    rng = torch.Generator().manual_seed(seed)
    device = next(G.parameters()).device
    with torch.no_grad():  # only the statistics change: no graph to keep
        for _ in range(num_batches):
            z = sample_z(batch_size, z_dim, generator=rng).to(device)
            G(z) if num_classes is None else G(z, (torch.arange(batch_size) % num_classes).to(device))
    for module, momentum in zip(norms, momenta):
        module.momentum = momentum
    return G.eval()
