"""Learning-rate decay for the long ACGAN runs (a few-minute run loses more than it gains)."""

from __future__ import annotations

from ganlib.train import GAN


def decayed_lr(lr: float, fraction: float, decay_from: float | None) -> float:
    """Adam's rate at ``fraction`` of a run: ``lr`` until ``decay_from``, then linearly down to 0 at 1.

    ``decay_from=None`` keeps ``lr`` throughout. The last steps of a long run then settle instead
    of ending wherever the last large step left the two networks; a short run, far from done,
    needs its full rate to the end (benchmarks/README.md, "learning-rate decay").
    """
    if decay_from is None or fraction <= decay_from:
        return lr
    return lr * max(0.0, (1.0 - fraction) / (1.0 - decay_from))


def set_lr(gan: GAN, lr: float, initial_lr: float) -> None:
    """Set the learning rate of both of the GAN's optimizers (one step of a schedule).

    ``initial_lr`` is the rate the schedule started from. It is stored in each parameter group,
    as torch's own schedulers do, so a checkpoint records the run's setting, not the decayed
    rate of the moment, and a resumed run is checked against it
    (:func:`ganlib.train.resume.training_levers`).
    """
    for opt in (gan.opt_g, gan.opt_d):
        for group in opt.param_groups:
            group["initial_lr"] = initial_lr
            group["lr"] = lr
