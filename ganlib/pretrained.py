"""Shipped, checksummed weights: trained generators for notebooks 01-03 and the MNIST evaluator.

The files live in ``ganlib/weights/`` next to ``manifest.json``, which records for each
one its sha256, model class, constructor arguments, data scale, the command that trained
it, how long that took, on what machine, and the metrics it reached. Load one with::

    from ganlib.pretrained import load_pretrained
    generator = load_pretrained("dcgan_mnist")   # eval mode, ready to sample
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
from ganlib.models.evaluator import Evaluator
from ganlib.utils import get_device

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_NAME = "manifest.json"

# Only these classes can be built from the manifest (it names them; it cannot run code).
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (MLPGenerator, DCGANGenerator, OneHotConditionalGenerator, EmbeddingConditionalGenerator, Evaluator,
                ACGANCritic, ACGANGenerator)
}
KNOWN_NAMES = ("mlp_gan_mnist", "dcgan_mnist", "cgan_onehot_mnist", "cgan_embedding_mnist", "mnist_evaluator",
               "cifar10_critic_classifier", "acgan_cifar10")
# CIFAR-10 weights need a GPU to train; until they are shipped, say how to make them.
_CIFAR10_COMMANDS = {
    "cifar10_critic_classifier": "python scripts/train_cifar10_classifier.py --out runs/cifar10_classifier "
                                 "(on a GPU; see docs/gpu_runbook.md)",
    "acgan_cifar10": "python scripts/train_acgan_cifar10.py --out runs/acgan_cifar10 "
                     "(on a GPU; see docs/gpu_runbook.md)",
}


def _manifest(weights_dir: Path) -> dict:
    path = weights_dir / MANIFEST_NAME
    if not path.is_file():
        raise FileNotFoundError(
            f"No {MANIFEST_NAME} in {weights_dir}: the shipped weights are missing. Reinstall ganlib "
            "from the repository, or train them with scripts/train_mnist_checkpoints.py."
        )
    return json.loads(path.read_text())["models"]


def pretrained_info(name: str, *, weights_dir: str | Path | None = None) -> dict:
    """The manifest entry of a shipped model: file, sha256, class, kwargs, scale, metrics...

    Args:
        name: one of ``KNOWN_NAMES``.
        weights_dir: folder holding the files (default: ``ganlib/weights``).

    Returns:
        A copy of the entry, a dict.
    """
    if name not in KNOWN_NAMES:
        raise ValueError(f"Unknown pretrained model {name!r}; known names: {', '.join(KNOWN_NAMES)}.")
    entries = _manifest(Path(weights_dir) if weights_dir else WEIGHTS_DIR)
    if name not in entries and name in _CIFAR10_COMMANDS:
        raise FileNotFoundError(
            f"The {name!r} weights are not shipped yet (not yet trained: they need a GPU). Train them "
            f"with `{_CIFAR10_COMMANDS[name]}`, then add the exported file to ganlib/weights/ and "
            "manifest.json."
        )
    if name not in entries:
        raise FileNotFoundError(
            f"{name!r} is not in the weights manifest yet; train it with "
            f"`python scripts/train_mnist_checkpoints.py --model {name}` (or "
            "scripts/train_mnist_evaluator.py for the evaluator)."
        )
    return json.loads(json.dumps(entries[name]))


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
        name: ``"mlp_gan_mnist"``, ``"dcgan_mnist"``, ``"cgan_onehot_mnist"``,
            ``"cgan_embedding_mnist"`` or ``"mnist_evaluator"``.
        device: where the model goes (default: :func:`ganlib.utils.get_device`).
        weights_dir: folder holding the files (default: ``ganlib/weights``).

    Returns:
        The model (float32, eval mode). Generators output images in the range named by
        ``pretrained_info(name)["scale"]``.

    Raises:
        ValueError: unknown name, or a file that is corrupt or fails its checksum.
        FileNotFoundError: the weight file is missing (the message says how to rebuild it).
    """
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
    if info["class"] not in MODEL_CLASSES:
        raise ValueError(f"The manifest names an unknown model class {info['class']!r} for {name!r}.")
    model = MODEL_CLASSES[info["class"]](**info["kwargs"])
    # fp16 files load into the float32 model: load_state_dict copies (and casts) values.
    load_model_state(model, state, f"weights file {path.name}")
    return model.to(device if device is not None else get_device()).eval()
