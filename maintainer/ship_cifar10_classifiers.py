"""Copy finished CIFAR-10 classifier runs into ganlib/weights/, re-measure them, and write manifest.json.

Usage, after maintainer/train_cifar10_classifier.py has finished a run:

    python maintainer/ship_cifar10_classifiers.py evaluator   # runs/cifar10_evaluator -> cifar10_evaluator
    python maintainer/ship_cifar10_classifiers.py critic      # runs/cifar10_critic -> cifar10_critic_classifier

Each model is loaded back through the registry, the way users load it, and its test accuracy
is measured again on the 10,000 test images. For the evaluator the real-vs-real Frechet
distance (the floor a perfect generator would score) is measured with the same definition as
for MNIST: 10,000 random training images (seed 0) against the 10,000 test images.
The manifest keeps the per-epoch history, wall and CPU seconds and the reproducing command
(the run's command without the flags of its sessions, such as ``--resume`` and ``--threads``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from ganlib.classifier import evaluate_accuracy
from ganlib.data.cifar10 import load_cifar10
from ganlib.metrics import real_vs_real_fd
from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR, load_pretrained, sha256_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.shipping import reproducing_command  # noqa: E402

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed

# Per model: registry name, class, constructor arguments, and the input range it reads.
SHIPPED = {
    "evaluator": {"name": "cifar10_evaluator", "class": "ResidualEvaluator",
                  "kwargs": {"image_channels": 3, "image_size": 32, "num_classes": 10, "width": 32,
                             "mirror_average": True},
                  "scale": "unit"},
    "critic": {"name": "cifar10_critic_classifier", "class": "ACGANCritic",
               "kwargs": {"num_classes": 10, "width": 196}, "scale": "tanh"},
}


# Options that say how or where a run was carried out, not what it learnt: left out of the
# manifest's reproducing command (a run that took three sessions still reproduces with one).
SESSION_FLAGS = {"--resume": 0, "--threads": 1, "--out": 1, "--max-minutes": 1, "--checkpoint-minutes": 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(SHIPPED))
    parser.add_argument("--run", default=None, help="run folder (default runs/cifar10_<model>)")
    parser.add_argument("--machine", default="2-core CPU (AMD EPYC with AVX-512 BF16), no GPU")
    parser.add_argument("--load-note", default="", help="what else ran on the CPU during training")
    args = parser.parse_args(argv)
    spec = SHIPPED[args.model]
    run = Path(args.run) if args.run else REPO / "runs" / f"cifar10_{args.model}"
    metrics = json.loads((run / "metrics.json").read_text())
    target = WEIGHTS_DIR / f"{spec['name']}.pt"
    shutil.copyfile(run / f"cifar10_{args.model}.pt", target)
    state = torch.load(target, map_location="cpu", weights_only=True)
    dtype = "float16" if any(v.dtype == torch.float16 for v in state.values()) else "float32"
    history = metrics["history"]
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["models"][spec["name"]] = {
        "file": target.name, "sha256": sha256_of(target), "class": spec["class"], "kwargs": spec["kwargs"],
        "scale": spec["scale"], "dtype": dtype,
        "training_command": reproducing_command(metrics["command"], SESSION_FLAGS),
        "training_epochs": metrics["epochs"], "training_seconds": metrics["training_wall_seconds"],
        "training_cpu_seconds": metrics["training_cpu_seconds"],
        "machine": args.machine + (f"; {args.load_note}" if args.load_note else ""),
        "history": history, "metrics": {},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    model = load_pretrained(spec["name"], device="cpu")  # through the registry and its checksum
    x_test, y_test = load_cifar10(train=False, scale=spec["scale"])
    found = {"test_accuracy": evaluate_accuracy(model, x_test, y_test)}
    if spec["kwargs"].get("mirror_average"):  # the training run measured one view per image
        found["test_accuracy_one_view"] = history["test_acc"][-1]
    if args.model == "evaluator":
        x_train, _ = load_cifar10(train=True, scale="unit")
        found["real_vs_real_fd"] = real_vs_real_fd(model, x_train, x_test, generator=torch.Generator().manual_seed(0))
    manifest["models"][spec["name"]]["metrics"] = found
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{spec['name']}: {json.dumps(found)}; {metrics['epochs']} epochs, "
          f"{metrics['training_wall_seconds'] / 60:.0f} min wall, {metrics['training_cpu_seconds'] / 60:.0f} CPU-min")


if __name__ == "__main__":
    main()
