"""Turning a trained run into a shipped file: its weights, and the one command that reproduces it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import torch
from torch import nn


def export_weights(module: nn.Module, *, half: bool = True) -> dict[str, torch.Tensor]:
    """The state of a trained model as it ships: CPU tensors, floating point ones in float16.

    Args:
        module: the trained network (e.g. a GAN's ``sampler``).
        half: store floating point tensors as float16 (half the file; the course's models
            lose no measurable quality), else keep their dtype.

    Returns:
        A state dict that :func:`ganlib.checkpoints.load_model_state` accepts once the tensors
        are cast back to the model's dtype; the EMA wrapper's ``n_averaged`` counter is left
        out (it is not part of the generator).
    """
    return {name: (t.half() if half and t.is_floating_point() else t).detach().cpu()
            for name, t in module.state_dict().items() if name != "n_averaged"}


def reproducing_command(command: str, session_flags: dict[str, int]) -> str:
    """``command`` without the options that only said how one session ran, e.g. ``--resume --threads 1``.

    A run resumed over several sessions is reproduced by one command: the options that decide
    what it learns stay, those of its sessions go.

    Args:
        command: the shell command a session was started with.
        session_flags: option -> how many values follow it (``{"--resume": 0, "--threads": 1}``);
            ``--threads=2`` is recognised too.
    """
    kept, skip = [], 0
    for word in shlex.split(command):
        if skip:
            skip -= 1
        elif word.split("=")[0] in session_flags:
            skip = 0 if "=" in word else session_flags[word]
        else:
            kept.append(word)
    return shlex.join(kept)


def run_record(name: str) -> dict:
    """What a manifest entry or a run summary records about the run that made a file.

    Args:
        name: a key of ``ganlib.runs.RUNS``.

    Returns:
        ``{"run": name, "commit": the checked-out git commit (or None outside a clone),
        "settings": the run's fields as text}``.
    """
    from ganlib.runs import RUNS

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                                cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"run": name, "commit": commit, "settings": repr(RUNS[name])}
