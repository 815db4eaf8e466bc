"""The training loop: repeat a run's step, log the losses, keep checkpoints, stop on divergence.

``fit`` adds what a real run needs around the step (:mod:`ganlib.train.steps`): a progress bar,
a loss history, a callback for sample grids, atomic checkpoints that resume exactly
(:mod:`ganlib.train.resume`), and a stop with a clear message when a loss turns NaN or explodes.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
from tqdm.auto import tqdm

from ganlib.checkpoint_guard import hold_checkpoint
from ganlib.checkpoints import load_checkpoint, save_checkpoint
from ganlib.train.resume import restore_training, training_state_dict
from ganlib.train.state import GAN, StepFn


class TrainingDiverged(RuntimeError):
    """A loss became NaN, infinite or absurdly large; the model is no longer trustworthy."""


def fit(
    gan: GAN,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    num_steps: int,
    *,
    step_fn: StepFn | None = None,
    log_every: int = 100,
    on_log: Callable[[GAN], bool | None] | None = None,
    time_budget: float | None = None,
    checkpoint_path: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = True,
    progress: bool = True,
    max_abs_loss: float = 1e4,
) -> dict[str, list[float]]:
    """Train until ``gan.step == num_steps``, the time budget is spent, or ``on_log`` says stop.

    Every exit happens right after a log and writes a checkpoint (when ``checkpoint_path``
    is set), so a run stopped early resumes exactly where it stopped.

    Args:
        gan: the training state (see :func:`make_gan`); changed in place.
        batches: endless ``(x_real, labels)`` batches, e.g. :class:`ganlib.data.TensorBatches`.
        num_steps: total number of steps to reach (not steps to add).
        step_fn: one training step; it becomes ``gan.train_step`` (whose settings a resume
            checks). None: keep ``gan.train_step``.
        log_every: average the losses over this many steps into ``gan.history``; losses
            are read back from the device only then. A loss that a step returns only
            sometimes is averaged over the steps that returned it; choose ``log_every`` so
            that every window holds one (e.g. at least ``gp_every`` and ``n_critic``).
        on_log: called with ``gan`` after each log (e.g. to show a sample grid or score
            samples); returning True stops training there.
        time_budget: stop at the first log after ``gan.seconds`` (training seconds, summed
            over resumed runs; the time spent in ``on_log`` and in checkpoints is not
            counted) reaches this many seconds; None for no limit.
        checkpoint_path: where to keep the latest checkpoint; written atomically. Checked
            before the first step (a folder that cannot be written, a directory or a foreign
            file fail then) and locked while training: a second training on the same path is
            refused (:mod:`ganlib.checkpoint_guard`).
        checkpoint_every: steps between checkpoints, a positive multiple of ``log_every``
            (default: ``10 * log_every``). A final checkpoint is always written.
        resume: continue from ``checkpoint_path`` when it exists.
        progress: show a tqdm progress bar (``TQDM_DISABLE=1`` silences it too).
        max_abs_loss: stop with :class:`TrainingDiverged` beyond this magnitude.

    Returns:
        ``gan.history``: lists ``step``, ``seconds`` and one per loss name. ``gan.step``
        tells whether the run reached ``num_steps`` or stopped early.
    """
    if not isinstance(num_steps, int) or num_steps < 0:
        raise ValueError(f"num_steps must be a non-negative int, got {num_steps!r}.")
    if not isinstance(log_every, int) or log_every <= 0:
        raise ValueError(f"log_every must be a positive int, got {log_every!r}.")
    if time_budget is not None and not time_budget >= 0:
        raise ValueError(f"time_budget must be a number of seconds >= 0 (or None), got {time_budget!r}.")
    if checkpoint_every is None:
        checkpoint_every = 10 * log_every
    if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int) or checkpoint_every <= 0:
        raise ValueError(f"checkpoint_every must be a positive int (steps between checkpoints) or None for "
                         f"10 * log_every, got {checkpoint_every!r}.")
    if not max_abs_loss > 0:
        raise ValueError(f"max_abs_loss must be a positive number, got {max_abs_loss!r}.")
    if checkpoint_path is not None and not isinstance(checkpoint_path, (str, os.PathLike)):
        raise ValueError(f"checkpoint_path must be a file path (str or Path) or None, got {checkpoint_path!r}.")
    if not isinstance(resume, bool):
        raise ValueError(f"resume must be True or False, got {resume!r}.")
    if on_log is not None and not callable(on_log):
        raise ValueError(f"on_log must be a function of the GAN (or None), got {type(on_log).__name__}.")
    if step_fn is not None and not callable(step_fn):
        raise ValueError(f"step_fn must be a function (gan, x_real, labels) -> losses (or None), got "
                         f"{type(step_fn).__name__}.")
    if checkpoint_every % log_every:
        raise ValueError(
            f"checkpoint_every ({checkpoint_every}) must be a multiple of log_every ({log_every}) "
            "so that a resumed run logs exactly what an uninterrupted one would."
        )
    if step_fn is not None:
        gan.train_step = step_fn
    lock = hold_checkpoint(checkpoint_path)  # before reading it: another live run may be writing it
    try:
        if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
            restore_training(gan, load_checkpoint(checkpoint_path), batches)
        _check_all_labels(gan, batches)
    except BaseException:
        lock.release()
        raise

    # Per name: the sum of its values and how many steps returned it (a step may return
    # a term only on some steps, e.g. a lazy penalty or a generator update every k steps).
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()
    bar = tqdm(total=num_steps, initial=gan.step, disable=not progress or _tqdm_disabled_by_env(), desc="training",
               dynamic_ncols=True)
    try:
        while gan.step < num_steps:
            x_real, labels = next(batches)
            losses = gan.train_step(gan, x_real, labels)
            for name, value in losses.items():
                sums[name] = sums[name] + value if name in sums else value.clone()
                counts[name] = counts.get(name, 0) + 1
            gan.step += 1
            bar.update(1)
            if gan.step % log_every == 0 or gan.step == num_steps:
                means = {name: float(total) / counts[name] for name, total in sums.items()}  # one sync per log
                gan.seconds += time.perf_counter() - started  # after the sync: the queued steps are done
                _log(gan, means, max_abs_loss)
                bar.set_postfix({k: f"{v:.3f}" for k, v in means.items()}, refresh=False)
                sums, counts = {}, {}
                asked_to_stop = on_log is not None and on_log(gan) is True  # only an explicit True stops
                out_of_time = time_budget is not None and gan.seconds >= time_budget
                at_end = gan.step == num_steps or asked_to_stop or out_of_time
                if checkpoint_path is not None and (gan.step % checkpoint_every == 0 or at_end):
                    save_checkpoint(training_state_dict(gan, batches), checkpoint_path)
                if asked_to_stop or out_of_time:
                    break
                started = time.perf_counter()  # on_log and checkpoints are not training time
    finally:
        bar.close()
        lock.release()
    return gan.history


def _check_all_labels(gan: GAN, batches: object) -> None:
    """Check a conditional GAN's whole label set once per data set, before the loop trusts it."""
    if gan.num_classes is not None and hasattr(batches, "check_labels"):  # TensorBatches: once per data set
        batches.check_labels(gan.num_classes)


def _tqdm_disabled_by_env() -> bool:
    """True when ``TQDM_DISABLE`` is set (CI sets it): an explicit ``disable=`` would override it."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false")


def _log(gan: GAN, means: dict[str, float], max_abs_loss: float) -> None:
    """Append the window's mean losses to ``gan.history``, or stop a diverged run."""
    for name, value in means.items():
        if not math.isfinite(value) or abs(value) > max_abs_loss:
            raise TrainingDiverged(
                f"{name} reached {value} around step {gan.step}: training diverged, so it was "
                "stopped before it could overwrite the last good checkpoint. Lower the learning "
                "rate, check that the data range matches the generator's output, or resume from "
                "the last checkpoint."
            )
    gan.history.setdefault("step", []).append(gan.step)
    gan.history.setdefault("seconds", []).append(gan.seconds)
    logs = len(gan.history["step"])
    # Every list stays aligned with "step": a term that no step of this window returned (a lazy
    # penalty in a short window) gets NaN, which plots leave out.
    for name in dict.fromkeys([*means, *gan.history]):  # each name once, in order
        if name not in ("step", "seconds"):
            values = gan.history.setdefault(name, [])
            values.extend([math.nan] * (logs - 1 - len(values)))
            values.append(means.get(name, math.nan))
