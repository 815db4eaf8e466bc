"""The registry of the course's trained models: shipped, checksummed weights and how to make them.

``ganlib/weights/manifest.json`` is the single source of truth for every trained model: its
file and sha256, model class, constructor arguments, output range (``"scale"``: ``"unit"``
for [0, 1], ``"tanh"`` for [-1, 1]), the named run (``ganlib.runs``) and the commit that
trained it, the command, how long that took, on what machine, and the metrics it reached. Load one with::

    from ganlib.pretrained import load_pretrained
    G = load_pretrained("dcgan_mnist")   # eval mode, ready to sample
    pretrained_info("dcgan_mnist")["scale"]   # "tanh": its images lie in [-1, 1]
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ganlib.checkpoints import load_model_state
from ganlib.models import (
    ACGANCritic,
    ACGANGenerator,
    DCGANGenerator,
    EmbeddingConditionalGenerator,
    MLPGenerator,
    OneHotConditionalGenerator,
)
from ganlib.models.evaluator import Evaluator, ResidualEvaluator
from ganlib.utils import get_device

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_NAME = "manifest.json"
# What every manifest entry must hold for a model to be built and checked.
_ENTRY_KEYS = ("file", "sha256", "class", "kwargs", "scale")

# Only these classes can be built from the manifest (it names them; it cannot run code).
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (MLPGenerator, DCGANGenerator, OneHotConditionalGenerator, EmbeddingConditionalGenerator, Evaluator,
                ResidualEvaluator, ACGANCritic, ACGANGenerator)
}
# How to train each known model that has no manifest entry yet (all of them run on a CPU).
TRAINING_COMMANDS = {
    "mlp_gan_mnist": "python maintainer/train_mnist_checkpoints.py --run MLP_GAN_R1_EMA",
    "dcgan_mnist": "python maintainer/train_mnist_checkpoints.py --run DCGAN_R1_EMA",
    "cgan_onehot_mnist": "python maintainer/train_mnist_checkpoints.py --run CGAN_ONEHOT_MISMATCH_EMA",
    "cgan_embedding_mnist": "python maintainer/train_mnist_checkpoints.py --run CGAN_EMBEDDING_MISMATCH_EMA",
    "mnist_evaluator": "python maintainer/train_mnist_evaluator.py",
    "cifar10_critic_classifier": "python maintainer/train_cifar10_classifier.py --model critic",
    "cifar10_evaluator": "python maintainer/train_cifar10_classifier.py --model evaluator",
    "acgan_cifar10": "python maintainer/train_acgan_cifar10.py",
    # The generator acgan_cifar10 replaced: the same recipe without the mode-seeking term (notebook 04
    # shows the two side by side: few kinds of image per class, and the fix).
    "acgan_cifar10_no_mode_seeking": "python maintainer/train_acgan_cifar10.py --run ACGAN_WGAN_GP_CPU",
    # DeepLearning.AI's textbook run, trained as long as the notebook's own run (its comparison).
    "mlp_gan_mnist_plain": "python maintainer/record_learner_runs.py --models mlp_gan_mnist",
    "dcgan_mnist_plain": "python maintainer/record_learner_runs.py --models dcgan_mnist",
    "cgan_onehot_mnist_plain": "python maintainer/record_learner_runs.py --models cgan_onehot_mnist",
}
KNOWN_NAMES = tuple(TRAINING_COMMANDS)
# The evaluator whose features and predictions score generators of each data set.
EVALUATORS = {"mnist": "mnist_evaluator", "cifar10": "cifar10_evaluator"}


def _manifest(weights_dir: Path) -> dict:
    path = weights_dir / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"No {MANIFEST_NAME} in {weights_dir}: the shipped weights are missing. Reinstall ganlib "
            "from the repository, or train them with maintainer/train_mnist_checkpoints.py."
        )
    fix = "Restore it from the repository (git checkout -- ganlib/weights/manifest.json) or fix the entry."
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}). {fix}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ValueError(f"{path} has no \"models\" object mapping model names to entries. {fix}")
    for name, entry in manifest["models"].items():
        missing = [key for key in _ENTRY_KEYS if not isinstance(entry, dict) or key not in entry]
        if missing:
            raise ValueError(f"{path}: the entry {name!r} lacks {', '.join(missing)}. {fix}")
    return manifest["models"]


def pretrained_info(name: str, *, weights_dir: str | Path | None = None) -> dict:
    """The manifest entry of a trained model: file, sha256, class, kwargs, scale, run, metrics...

    Args:
        name: one of ``KNOWN_NAMES``.
        weights_dir: folder holding the files (default: ``ganlib/weights``).

    Returns:
        A copy of the entry, a dict.

    Raises:
        ValueError: the name is unknown, or the manifest is malformed (the message names it).
        FileNotFoundError: the model has no entry yet; the message gives the command that trains it.
    """
    if name not in KNOWN_NAMES:
        raise ValueError(f"Unknown pretrained model {name!r}; known names: {', '.join(KNOWN_NAMES)}.")
    entries = _manifest(Path(weights_dir) if weights_dir else WEIGHTS_DIR)
    if name not in entries:
        raise FileNotFoundError(
            f"{name!r} is not in the weights manifest yet: it has not been trained and shipped. Train it "
            f"with `{TRAINING_COMMANDS[name]}` (it runs on a CPU; see the script's --help), then add the "
            f"exported file to ganlib/weights/ and its entry to {MANIFEST_NAME}."
        )
    return json.loads(json.dumps(entries[name]))


def output_scale(name: str, *, weights_dir: str | Path | None = None) -> str:
    """The value range of a registered model's images: ``"unit"`` ([0, 1]) or ``"tanh"`` ([-1, 1]).

    For a generator it is the range of its output, for an evaluator the range of its input.
    """
    return pretrained_info(name, weights_dir=weights_dir)["scale"]


def build_model(name: str, *, weights_dir: str | Path | None = None, overrides: dict | None = None) -> nn.Module:
    """A fresh, untrained model of the class and constructor arguments the manifest gives for ``name``.

    ``overrides`` replaces some of those arguments (e.g. ``{"hidden_dim": 32}`` for a narrower twin).
    """
    info = pretrained_info(name, weights_dir=weights_dir)
    if info["class"] not in MODEL_CLASSES:
        raise ValueError(
            f"The manifest names an unknown model class {info['class']!r} for {name!r}; "
            f"known classes: {', '.join(MODEL_CLASSES)}."
        )
    return MODEL_CLASSES[info["class"]](**(info["kwargs"] | (overrides or {})))


def sha256_of(path: str | Path) -> str:
    """Hex sha256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_pretrained(name: str, device: torch.device | str | None = None, *,
                    weights_dir: str | Path | None = None) -> nn.Module:
    """Build a shipped model, fill it with its checked weights, and put it in eval mode.

    Args:
        name: one of ``KNOWN_NAMES``, e.g. ``"dcgan_mnist"`` or ``"mnist_evaluator"``.
        device: where the model goes (default: :func:`ganlib.utils.get_device`).
        weights_dir: folder holding the files (default: ``ganlib/weights``).

    Returns:
        The model (float32, eval mode). Generators output images in the range named by
        ``pretrained_info(name)["scale"]``.

    Raises:
        ValueError: unknown name or device (or one not available here), a malformed
            manifest, or a file that is corrupt or fails its checksum.
        FileNotFoundError: the weight file is missing (the message says how to rebuild it).
    """
    device = get_device(device)  # an unknown or unavailable device fails here, with the choices
    info = pretrained_info(name, weights_dir=weights_dir)
    folder = Path(weights_dir) if weights_dir else WEIGHTS_DIR
    path = folder / info["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"The weights of {name!r} ({path}) are missing. Reproduce them with "
            f"`{info['training_command']}` and copy the result to {path}."
        )
    digest = sha256_of(path)
    if digest != info["sha256"]:
        raise ValueError(
            f"{path} fails its checksum (sha256 {digest[:12]}..., manifest says {info['sha256'][:12]}...): "
            f"the file is corrupt or was replaced. Restore it from the repository (git checkout -- {path.name}) "
            f"or retrain it with `{info['training_command']}`."
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a file that matches its checksum but is no state dict
        raise ValueError(f"{path} could not be read as a state dict ({type(error).__name__}).") from error
    model = build_model(name, weights_dir=weights_dir)
    # fp16 files load into the float32 model: load_state_dict copies (and casts) values.
    load_model_state(model, state, f"weights file {path.name}")
    return model.to(device).eval()
