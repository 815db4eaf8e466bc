"""The training loop: one discriminator step, one generator step, repeated by ``fit``.

``d_step`` and ``g_step`` are written to be read: they are the whole algorithm.
``fit`` adds what a real run needs around them: a progress bar, a loss history, sample
grids from fixed noise, atomic checkpoints that resume exactly, and a stop with a clear
message when a loss turns NaN or explodes.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from ganlib.checkpoints import load_checkpoint, load_model_state, save_checkpoint
from ganlib.losses import d_loss_bce, d_loss_mismatch, g_loss_bce, r1_penalty
from ganlib.noise import mismatched_labels, sample_z, trusted_labels

CHECKPOINT_FORMAT = "ganlib-training-v1"


class TrainingDiverged(RuntimeError):
    """A loss became NaN, infinite or absurdly large; the model is no longer trustworthy."""


def run_generator(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Call an unconditional ``G(z)`` or a conditional ``G(z, labels)`` generator (as it is: no mode change).

    To draw samples for looking at or scoring, use :func:`ganlib.sampling.sample` (eval mode, no grad).
    """
    return G(z) if labels is None else G(z, labels)


def run_discriminator(D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Call an unconditional ``D(x)`` or a conditional ``D(x, labels)`` discriminator."""
    return D(x) if labels is None else D(x, labels)


def d_step(
    G: nn.Module,
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    x_real: torch.Tensor,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    real_target: float = 1.0,
    r1_gamma: float = 0.0,
    extra_losses: dict[str, torch.Tensor] | None = None,
) -> torch.Tensor:
    """One discriminator update on a batch of real images and a batch of fakes.

    Args:
        G, D: the generator and the discriminator (conditional ones take ``labels``).
        opt_d: the discriminator's optimizer.
        x_real: real images ``(n, C, H, W)``.
        z: noise ``(n, z_dim)`` for the fakes.
        labels: class labels ``(n,)`` for conditional models, else None.
        real_target: 1.0, or e.g. 0.9 for one-sided label smoothing.
        r1_gamma: weight of the R1 penalty (:func:`ganlib.losses.r1_penalty`); 0 for none.
        extra_losses: a dict that receives the R1 term as ``"r1"`` (detached), for logging.

    Returns:
        The discriminator loss without the penalty, a detached scalar tensor (reading it
        would sync the GPU).
    """
    opt_d.zero_grad(set_to_none=True)
    # .detach(): this loss trains D only; without it, backward() would also fill G's
    # gradients (and spend time computing them).
    x_fake = run_generator(G, z, labels).detach()
    logits_fake = run_discriminator(D, x_fake, labels)
    if r1_gamma:  # R1 differentiates D's logits with respect to the real images themselves
        x_real = x_real.detach().requires_grad_(True)
    logits_real = run_discriminator(D, x_real, labels)
    loss_d = d_loss_bce(logits_real, logits_fake, real_target)
    loss = loss_d
    if r1_gamma:  # keep D flat on the real data: + gamma/2 * E||grad_x D(x_real)||^2
        r1 = r1_penalty(logits_real, x_real)
        loss = loss_d + r1_gamma / 2 * r1
        if extra_losses is not None:
            extra_losses["r1"] = r1.detach()
    loss.backward()
    opt_d.step()
    return loss_d.detach()


def mismatch_step(
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    x_real: torch.Tensor,
    wrong_labels: torch.Tensor,
    *,
    weight: float = 1.0,
) -> torch.Tensor:
    """A second, small discriminator update: real images paired with wrong labels are fakes.

    Without it a conditional discriminator can score realism alone, and the generator can
    ignore the class it was asked for (see :func:`ganlib.losses.d_loss_mismatch`).

    Args:
        D: a conditional discriminator ``D(x, labels)``.
        opt_d: its optimizer.
        x_real: real images ``(n, C, H, W)``.
        wrong_labels: a wrong class for each image ``(n,)`` (:func:`ganlib.noise.mismatched_labels`).
        weight: scale of this loss (1.0 counts it like the fake half of the usual D loss).

    Returns:
        The weighted mismatch loss, a detached scalar tensor.
    """
    opt_d.zero_grad(set_to_none=True)
    loss_mismatch = weight * d_loss_mismatch(run_discriminator(D, x_real, wrong_labels))
    loss_mismatch.backward()
    opt_d.step()
    return loss_mismatch.detach()


def g_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """One generator update: make the discriminator call fresh fakes real.

    Gradients flow through the discriminator into the generator, but only ``opt_g``
    steps, so the discriminator's weights do not change here.

    Returns:
        The generator loss, a detached scalar tensor.
    """
    opt_g.zero_grad(set_to_none=True)
    x_fake = run_generator(G, z, labels)
    loss_g = g_loss_bce(run_discriminator(D, x_fake, labels))
    loss_g.backward()
    opt_g.step()
    return loss_g.detach()


class EMA(AveragedModel):
    """Exponential moving average of a model's weights (and buffers), kept on its device.

    ``AveragedModel(..., multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)`` with
    the same checkpoint format, but its update never waits for the GPU: torch's own update
    copies its CPU step counter to the GPU every call, a copy that syncs.

    Args:
        model: the model to average (its copy lives on the model's device).
        decay: weight of the old average in each update, e.g. 0.999.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__(model, use_buffers=True)
        self.decay = decay

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """``average = decay * average + (1 - decay) * current``; the first call copies."""
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]
        first = int(self.n_averaged) == 0  # n_averaged lives on the CPU: no GPU sync
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point() and not first]
        for a, c in zip(averaged, current):
            if first or not a.is_floating_point():  # e.g. BatchNorm's batch counter: copied
                a.copy_(c)
        if floats:  # one fused kernel per dtype instead of one per tensor
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1.0 - self.decay)
        self.n_averaged += 1


@dataclass
class GAN:
    """Everything a training run changes, in one place (and in one checkpoint).

    Build it with :func:`make_gan` (or :func:`ganlib.recipes.make_gan_from_recipe`).
    ``num_classes`` is None for an unconditional GAN. ``real_target``, ``r1_gamma`` and
    ``mismatch_weight`` are the levers :func:`gan_step` reads (0 switches the last two
    off). ``ema`` optionally holds an exponential moving average of the generator's weights,
    which usually gives cleaner samples than the raw generator. ``compiled`` optionally
    holds ``torch.compile``'d twins of (generator, discriminator) that share their weights
    and that :func:`gan_step` trains through (see ``make_gan(compile=...)``).
    """

    G: nn.Module  # the generator network
    D: nn.Module  # the discriminator (or critic) network
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    z_dim: int
    rng: torch.Generator
    num_classes: int | None = None
    real_target: float = 1.0
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images
    mismatch_weight: float = 0.0  # weight of the (real image, wrong label) = fake update
    ema: AveragedModel | None = None
    compiled: tuple[nn.Module, nn.Module] | None = None
    step: int = 0
    seconds: float = 0.0
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw samples from: the weight average when there is one."""
        return self.ema.module if self.ema is not None else self.G


def decayed_lr(lr: float, fraction: float, decay_from: float | None) -> float:
    """Adam's rate at ``fraction`` of a run: ``lr`` until ``decay_from``, then linearly down to 0 at 1.

    ``decay_from=None`` keeps ``lr`` throughout. Meant for long runs, whose last steps then settle
    instead of ending wherever the last large step left the two networks; a run of a few minutes,
    far from done, loses more than it gains (notebook 04's 6-minute ACGAN: 22 % instead of 39 %
    class accuracy, ``benchmarks/README.md``).
    """
    if decay_from is None or fraction <= decay_from:
        return lr
    return lr * max(0.0, (1.0 - fraction) / (1.0 - decay_from))


def set_lr(gan: GAN, lr: float) -> None:
    """Set the learning rate of both of the GAN's optimizers (one step of a schedule)."""
    for opt in (gan.opt_g, gan.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr


def make_adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam, fused into one kernel on CUDA (fewer launches per step), plain elsewhere."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type == "cuda")


def make_gan(
    G: nn.Module,
    D: nn.Module,
    *,
    z_dim: int,
    num_classes: int | None = None,
    lr: float = 2e-4,
    lr_d: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    real_target: float = 1.0,
    ema_decay: float | None = None,
    r1_gamma: float = 0.0,
    mismatch_weight: float = 0.0,
    seed: int = 0,
    compile: bool | str = False,
) -> GAN:
    """Wrap two networks (already on their device) with optimizers and a noise generator.

    Args:
        G, D: the generator and the discriminator.
        z_dim: noise length the generator expects.
        num_classes: classes of a conditional GAN; None for an unconditional one.
        lr: Adam learning rate of the generator (and of the discriminator unless ``lr_d``).
        lr_d: a different learning rate for the discriminator.
        betas: Adam's betas; (0.5, 0.999) is the DCGAN paper's choice.
        real_target: 1.0, or 0.9 for one-sided label smoothing.
        ema_decay: e.g. 0.999 to keep a moving average of the generator's weights.
        r1_gamma: weight of the R1 penalty on real images (e.g. 1.0); 0 for none.
        mismatch_weight: conditional GANs only: weight of an extra discriminator update on
            real images with wrong labels (e.g. 1.0); 0 for none.
        seed: seed of the noise generator.
        compile: train through ``torch.compile``'d twins of the two networks: True, or a
            torch.compile mode such as ``"reduce-overhead"`` (CUDA graphs). Off by default:
            on a CPU compiling costs minutes and the compiled step was not faster here
            (see benchmarks/README.md); weights, checkpoints and sampling stay eager.
    """
    for name, value in (("lr", lr), ("lr_d", lr_d if lr_d is not None else lr)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}.")
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must be between 0 and 1 (e.g. 0.999), got {ema_decay}.")
    if not 0.0 < real_target <= 1.0:
        raise ValueError(f"real_target must be in (0, 1] (1.0, or 0.9 for one-sided label smoothing), "
                         f"got {real_target}.")
    for name, value in (("r1_gamma", r1_gamma), ("mismatch_weight", mismatch_weight)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0 (0 switches it off), got {value}.")
    if mismatch_weight and (num_classes is None or num_classes < 2):
        raise ValueError(
            f"mismatch_weight={mismatch_weight} needs a conditional GAN (num_classes >= 2, got "
            f"{num_classes}): it shows D real images with wrong labels."
        )
    device = next(G.parameters()).device
    ema = None
    if ema_decay is not None:
        ema = EMA(G, ema_decay)
    compiled = None
    if compile:
        mode = compile if isinstance(compile, str) else None
        compiled = (torch.compile(G, mode=mode), torch.compile(D, mode=mode))
    return GAN(
        G=G,
        D=D,
        opt_g=make_adam(G.parameters(), lr, betas, device),
        opt_d=make_adam(D.parameters(), lr_d or lr, betas, device),
        z_dim=z_dim,
        rng=torch.Generator(device).manual_seed(seed),
        num_classes=num_classes,
        real_target=real_target,
        r1_gamma=float(r1_gamma),
        mismatch_weight=float(mismatch_weight),
        ema=ema,
        compiled=compiled,
    )


def gan_step(gan: GAN, x_real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """One D step and one G step of the standard (optionally conditional) GAN.

    The levers stored in ``gan`` switch on the extras: one-sided label smoothing
    (``real_target``), the R1 penalty (``r1_gamma``), for conditional GANs the mismatch
    update (``mismatch_weight``), and the moving average of the generator (``ema``).

    Args:
        gan: the training state.
        x_real: a batch of real images ``(n, C, H, W)``.
        labels: their classes ``(n,)``; ignored by unconditional GANs.

    Returns:
        ``{"loss_d": ..., "loss_g": ...}`` as detached scalar tensors, plus ``"r1"`` and
        ``"loss_mismatch"`` when those levers are on.
    """
    n = x_real.shape[0]
    labels = labels if gan.num_classes is not None else None
    G, D = gan.compiled or (gan.G, gan.D)  # compiled twins share weights
    if gan.r1_gamma:  # torch.compile cannot differentiate twice: R1 trains the eager networks
        G, D = gan.G, gan.D
    extra: dict[str, torch.Tensor] = {}
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    loss_d = d_step(G, D, gan.opt_d, x_real, z, labels, real_target=gan.real_target,
                    r1_gamma=gan.r1_gamma, extra_losses=extra)
    if gan.mismatch_weight:
        wrong = mismatched_labels(labels, gan.num_classes, generator=gan.rng)
        extra["loss_mismatch"] = mismatch_step(D, gan.opt_d, x_real, wrong, weight=gan.mismatch_weight)
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    loss_g = g_step(G, D, gan.opt_g, z, labels)
    if gan.ema is not None:
        gan.ema.update_parameters(gan.G)
    return {"loss_d": loss_d, **extra, "loss_g": loss_g}


StepFn = Callable[[GAN, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


def fit(
    gan: GAN,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    num_steps: int,
    *,
    step_fn: StepFn = gan_step,
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
        step_fn: one training step; :func:`gan_step` by default.
        log_every: average the losses over this many steps into ``gan.history``; losses
            are read back from the device only then. A loss that a step returns only
            sometimes is averaged over the steps that returned it; choose ``log_every`` so
            that every window holds one (e.g. at least ``gp_every`` and ``n_critic``).
        on_log: called with ``gan`` after each log (e.g. to show a sample grid or score
            samples); returning True stops training there.
        time_budget: stop at the first log after ``gan.seconds`` (training seconds, summed
            over resumed sessions; the time spent in ``on_log`` and in checkpoints is not
            counted) reaches this many seconds; None for no limit.
        checkpoint_path: where to keep the latest checkpoint; written atomically.
        checkpoint_every: steps between checkpoints, a multiple of ``log_every``
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
    checkpoint_every = checkpoint_every or 10 * log_every
    if checkpoint_every % log_every:
        raise ValueError(
            f"checkpoint_every ({checkpoint_every}) must be a multiple of log_every ({log_every}) "
            "so that a resumed run logs exactly what an uninterrupted one would."
        )
    if checkpoint_path is not None and resume and Path(checkpoint_path).exists():
        restore_training(gan, load_checkpoint(checkpoint_path), batches)
    _check_all_labels(gan, batches)

    # Per name: the sum of its values and how many steps returned it (a step may return
    # a term only on some steps, e.g. a lazy penalty or a generator update every k steps).
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    started = time.perf_counter()
    bar = tqdm(total=num_steps, initial=gan.step, disable=not progress or _tqdm_disabled_by_env(), desc="training",
               dynamic_ncols=True)
    try:
        with trusted_labels():  # labels were checked above: no per-step sync to check them again
            while gan.step < num_steps:
                x_real, labels = next(batches)
                losses = step_fn(gan, x_real, labels)
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


def training_levers(gan: GAN, batches: object | None = None) -> dict:
    """The settings a resumed run must share with the run that wrote the checkpoint.

    Learning rates and betas as the optimizers were built (a scheduler's ``initial_lr``
    when there is one), the loss levers, the EMA decay, and the batch size of ``batches``
    when it has one. Plain floats, ints and lists, so a checkpoint still loads with
    ``weights_only=True``.
    """
    group_g, group_d = gan.opt_g.param_groups[0], gan.opt_d.param_groups[0]
    levers = {
        "lr": float(group_g.get("initial_lr", group_g["lr"])),
        "lr_d": float(group_d.get("initial_lr", group_d["lr"])),
        "betas": [float(b) for b in group_g["betas"]] if "betas" in group_g else None,
        "real_target": float(gan.real_target),
        "r1_gamma": float(gan.r1_gamma),
        "mismatch_weight": float(gan.mismatch_weight),
        "ema_decay": getattr(gan.ema, "decay", None) if gan.ema is not None else None,
    }
    batch_size = getattr(batches, "batch_size", None)
    if isinstance(batch_size, int):
        levers["batch_size"] = batch_size
    return levers


def _check_same_levers(saved: dict, gan: GAN, batches: object | None) -> None:
    """Refuse to continue a run with other settings than the ones it was trained with."""
    current = training_levers(gan, batches)
    differ = [f"{name}: checkpoint {saved[name]!r}, this run {current[name]!r}"
              for name in saved if name in current and saved[name] != current[name]]
    if differ:
        raise ValueError(
            "The checkpoint was trained with other settings than this run asks for ("
            + "; ".join(differ) + "). Resuming would silently mix two recipes: build the GAN (and "
            "its batches) with the checkpoint's settings, or start a fresh run (another "
            "checkpoint_path, or resume=False)."
        )


def training_state_dict(gan: GAN, batches: object | None = None) -> dict:
    """Everything needed to continue ``gan`` exactly; loads with ``weights_only=True``."""
    return {
        "format": CHECKPOINT_FORMAT,
        "levers": training_levers(gan, batches),
        "model_names": {"generator": type(gan.G).__name__,
                        "discriminator": type(gan.D).__name__},
        "step": gan.step,
        "seconds": gan.seconds,
        "history": gan.history,
        "generator": gan.G.state_dict(),
        "discriminator": gan.D.state_dict(),
        "opt_g": gan.opt_g.state_dict(),
        "opt_d": gan.opt_d.state_dict(),
        "ema": gan.ema.state_dict() if gan.ema is not None else None,
        "rng": gan.rng.get_state(),
        "batches": batches.state_dict() if hasattr(batches, "state_dict") else None,
    }


def restore_training(gan: GAN, state: dict, batches: object | None = None) -> None:
    """Put ``gan`` (and ``batches``) back into the state saved by :func:`training_state_dict`.

    Raises:
        ValueError: not a training checkpoint, another model, or other training settings
            (:func:`training_levers`; checkpoints written before those were saved are not checked).
    """
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            "This file is not a ganlib training checkpoint (no 'format' "
            f"{CHECKPOINT_FORMAT!r}); to load bare weights use ganlib.checkpoints.load_model_state."
        )
    for role, module in (("generator", gan.G), ("discriminator", gan.D)):
        saved = state["model_names"][role]
        if saved != type(module).__name__:
            raise ValueError(
                f"The checkpoint's {role} is a {saved}, but this run's is a "
                f"{type(module).__name__}. Use another checkpoint_path for a different model."
            )
    if "levers" in state:  # checked before anything is loaded: a refused resume leaves gan as it was
        _check_same_levers(state["levers"], gan, batches)
    for role, module in (("generator", gan.G), ("discriminator", gan.D)):
        load_model_state(module, state[role], f"checkpoint's {role}")
    gan.opt_g.load_state_dict(state["opt_g"])
    gan.opt_d.load_state_dict(state["opt_d"])
    if (state["ema"] is None) != (gan.ema is None):
        raise ValueError(
            "The checkpoint and this run disagree on generator weight averaging (ema_decay); "
            "build the GAN with the same ema_decay it was trained with."
        )
    if gan.ema is not None:
        gan.ema.load_state_dict(state["ema"])
    gan.rng.set_state(state["rng"])
    gan.step, gan.seconds = state["step"], state["seconds"]
    gan.history = {k: list(v) for k, v in state["history"].items()}
    if state["batches"] is not None and hasattr(batches, "load_state_dict"):
        batches.load_state_dict(state["batches"])
