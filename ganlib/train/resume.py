"""Exact resume: everything needed to continue a run, and the check that it is the same run."""

from __future__ import annotations

from ganlib.checkpoints import load_model_state
from ganlib.train.state import GAN

CHECKPOINT_FORMAT = "ganlib-training-v1"


def step_settings(train_step: object) -> dict:
    """The settings a step was bound with (``functools.partial`` keywords) that decide what it learns.

    Numbers, booleans and strings are kept as they are, a loss object by its ``repr`` (e.g.
    ``"BCELoss(real_target=0.9)"``); anything else (an autocast dtype: how fast, not what) is left out.
    """
    settings = {"step": getattr(getattr(train_step, "func", train_step), "__name__", type(train_step).__name__)}
    for name, value in getattr(train_step, "keywords", {}).items():
        if isinstance(value, (bool, int, float, str)):
            settings[name] = value
        elif name == "loss":
            settings[name] = repr(value)
    return settings


def training_levers(gan: GAN, batches: object | None = None) -> dict:
    """The settings a resumed run must share with the run that wrote the checkpoint.

    Learning rates and betas as the optimizers were built (a scheduler's ``initial_lr``
    when there is one), the step's settings (:func:`step_settings`), the EMA decay, and the
    batch size of ``batches`` when it has one. Plain values, so a checkpoint still loads
    with ``weights_only=True``.
    """
    group_g, group_d = gan.opt_g.param_groups[0], gan.opt_d.param_groups[0]
    levers = {
        "lr": float(group_g.get("initial_lr", group_g["lr"])),
        "lr_d": float(group_d.get("initial_lr", group_d["lr"])),
        "betas": [float(b) for b in group_g["betas"]] if "betas" in group_g else None,
        "ema_decay": gan.ema_decay if gan.ema is not None else None,
    }
    levers.update({k: v for k, v in step_settings(gan.train_step).items() if k != "step"})
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
            + "; ".join(differ) + "). Resuming would silently mix two runs: build the GAN (and "
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
            (:func:`training_levers`; a setting the checkpoint does not record is not checked).
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
    if (state["ema"] is None) != (gan.ema is None):
        raise ValueError(
            "The checkpoint and this run disagree on generator weight averaging (ema_decay); "
            "build the GAN with the same ema_decay it was trained with."
        )
    for role, module in (("generator", gan.G), ("discriminator", gan.D)):
        load_model_state(module, state[role], f"checkpoint's {role}")
    gan.opt_g.load_state_dict(state["opt_g"])
    gan.opt_d.load_state_dict(state["opt_d"])
    if gan.ema is not None:
        gan.ema.load_state_dict(state["ema"])
    gan.rng.set_state(state["rng"])
    gan.step, gan.seconds = state["step"], state["seconds"]
    gan.history = {k: list(v) for k, v in state["history"].items()}
    if state["batches"] is not None and hasattr(batches, "load_state_dict"):
        batches.load_state_dict(state["batches"])
