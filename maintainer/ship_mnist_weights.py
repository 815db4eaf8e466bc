"""Copy finished MNIST runs into ganlib/weights/, measure them, and write manifest.json.

Usage, after maintainer/train_mnist_evaluator.py and maintainer/train_mnist_checkpoints.py:

    python maintainer/ship_mnist_weights.py mnist_evaluator            # first: the evaluator
    python maintainer/ship_mnist_weights.py dcgan_mnist mlp_gan_mnist  # then the generators

For each generator it loads the shipped (float16) file the way users will, scores it with
ganlib.metrics on 10,000 samples against the MNIST test set, scores the baseline run of
the same model (``runs/<name>_baseline``) the same way when there is one, and records
both with the training command, steps, time and machine. It also prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from ganlib.checkpoints import load_model_state
from ganlib.data import load_mnist
from ganlib.metrics import evaluate_generator, features, real_vs_real_fd
from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR, build_model, load_pretrained, pretrained_info, sha256_of

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed

MACHINE = "2-core CPU (AMD EPYC, shared with other jobs), no GPU"


def read_manifest() -> dict:
    path = WEIGHTS_DIR / MANIFEST_NAME
    if path.is_file():
        return json.loads(path.read_text())
    return {"format": "ganlib-weights-v1", "models": {}}


def write_manifest(manifest: dict) -> None:
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    (WEIGHTS_DIR / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")


def ship_evaluator(manifest: dict) -> None:
    run = REPO / "runs" / "mnist_evaluator"
    summary = json.loads((run / "summary.json").read_text())
    target = WEIGHTS_DIR / "mnist_evaluator.pt"
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run / "mnist_evaluator.pt", target)
    manifest["models"]["mnist_evaluator"] = {
        "file": target.name, "sha256": sha256_of(target), "class": "Evaluator", "kwargs": summary["kwargs"],
        "scale": "unit", "dtype": "float32", "training_command": summary["command"],
        "training_steps": summary["steps"], "training_seconds": summary["training_seconds"],
        "machine": MACHINE, "metrics": {"test_accuracy": summary["test_accuracy"]},
    }
    write_manifest(manifest)
    evaluator = load_pretrained("mnist_evaluator", device="cpu")
    x_train, _ = load_mnist(train=True, scale="unit")
    x_test, _ = load_mnist(train=False, scale="unit")
    fd = real_vs_real_fd(evaluator, x_train, x_test, generator=torch.Generator().manual_seed(0))
    manifest["models"]["mnist_evaluator"]["metrics"]["real_vs_real_fd"] = fd
    write_manifest(manifest)
    print(f"mnist_evaluator: test accuracy {summary['test_accuracy']:.4f}, real-vs-real FD {fd:.4f}")


def score(name: str, weights: Path, evaluator, x_test, real_feats, num_samples: int,
          use_batch_stats: bool = False) -> dict:
    spec = pretrained_info(name)
    model = build_model(name)
    load_model_state(model, torch.load(weights, map_location="cpu", weights_only=True), str(weights))
    return evaluate_generator(model.eval(), evaluator, x_test, scale=spec["scale"], num_classes=spec["num_classes"],
                              num_samples=num_samples, generator=torch.Generator().manual_seed(2024),
                              real_features=real_feats, use_batch_stats=use_batch_stats)


def score_baseline(name: str, weights: Path, evaluator, x_test, real_feats, num_samples: int) -> dict:
    """The baseline's better score of its two sampling modes (BatchNorm running vs batch statistics).

    The baseline has no weight average, so its running statistics are the training loop's
    own; a course loop samples in train mode. Taking the better of the two is the fair
    (conservative) comparison.
    """
    modes = {mode: score(name, weights, evaluator, x_test, real_feats, num_samples, use_batch_stats=mode == "batch")
             for mode in ("running", "batch")}
    best = min(modes, key=lambda mode: modes[mode]["fd"])
    other = "batch" if best == "running" else "running"
    return {**modes[best], "batchnorm_statistics": best, "fd_other_mode": modes[other]["fd"]}


def ship_generator(name: str, manifest: dict, num_samples: int, recipe: str = "improved") -> dict:
    spec = pretrained_info(name)  # the registry declares class, kwargs, scale and classes
    run = REPO / "runs" / f"{name}_{recipe}"
    summary = json.loads((run / "summary.json").read_text())
    target = WEIGHTS_DIR / f"{name}.pt"
    shutil.copyfile(run / "generator.pt", target)
    evaluator = load_pretrained("mnist_evaluator", device="cpu")
    x_test, _ = load_mnist(train=False, scale="unit")
    real_feats = features(evaluator, x_test)
    metrics = score(name, target, evaluator, x_test, real_feats, num_samples)
    metrics["real_vs_real_fd"] = manifest["models"]["mnist_evaluator"]["metrics"].get("real_vs_real_fd")
    baseline_run = REPO / "runs" / f"{name}_baseline"
    # Without the baseline's run folder (another machine, a later session) keep its recorded score.
    baseline = manifest["models"].get(name, {}).get("baseline")
    if (baseline_run / "summary.json").is_file():
        b_summary = json.loads((baseline_run / "summary.json").read_text())
        baseline = {"metrics": score_baseline(name, baseline_run / "generator.pt", evaluator, x_test, real_feats,
                                              num_samples),
                    "settings": b_summary["settings"], "training_steps": b_summary["steps"],
                    "training_seconds": b_summary["training_seconds"], "training_command": b_summary["command"]}
    manifest["models"][name] = {
        "file": target.name, "sha256": sha256_of(target), "class": spec["class"],
        "kwargs": spec["kwargs"], "scale": spec["scale"], "num_classes": spec["num_classes"],
        "dtype": "float16 (generator EMA weights)", "settings": summary["settings"],
        "training_command": summary["command"], "training_steps": summary["steps"],
        "training_seconds": summary["training_seconds"], "machine": MACHINE,
        "metrics": metrics, "baseline": baseline,
    }
    write_manifest(manifest)
    load_pretrained(name, device="cpu")  # the shipped entry must load and checksum
    print(json.dumps({name: manifest["models"][name]}, indent=2))
    return manifest["models"][name]


NOTEBOOKS = {"mlp_gan_mnist": "01", "dcgan_mnist": "02", "cgan_onehot_mnist": "03", "cgan_embedding_mnist": "03"}


def markdown_table(manifest: dict) -> str:
    """The README's results table, from the manifest."""
    models = manifest["models"]
    ev = models.get("mnist_evaluator", {}).get("metrics", {})
    lines = [
        "| checkpoint | notebook | steps (batch) | training time | FD shipped | FD baseline (steps, time) "
        "| precision / recall | class accuracy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in models.items():
        if name == "mnist_evaluator":
            continue
        m, b = entry["metrics"], entry.get("baseline")
        base = (f"{b['metrics']['fd']:.3f} ({b['training_steps']}, {b['training_seconds'] / 60:.1f} min)"
                if b else "-")
        acc = f"{100 * m['class_accuracy']:.2f} %" if "class_accuracy" in m else "-"
        if b and "class_accuracy" in b["metrics"]:
            acc += f" (baseline {100 * b['metrics']['class_accuracy']:.2f} %)"
        lines.append(
            f"| `{name}` | {NOTEBOOKS[name]} | {entry['training_steps']} ({entry['settings']['batch_size']}) "
            f"| {entry['training_seconds'] / 60:.1f} min | {m['fd']:.3f} | {base} "
            f"| {m['precision']:.3f} / {m['recall']:.3f} | {acc} |"
        )
    lines.append("")
    lines.append(f"Evaluator (`mnist_evaluator`): test accuracy {100 * ev.get('test_accuracy', float('nan')):.2f} %, "
                 "real-vs-real FD (10,000 training vs 10,000 test images) "
                 f"{ev.get('real_vs_real_fd', float('nan')):.4f}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mnist_evaluator and/or model[:recipe] (recipe default: improved)")
    parser.add_argument("--markdown", action="store_true", help="print the README results table")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    manifest = read_manifest()
    for name in args.names:
        if name == "mnist_evaluator":
            ship_evaluator(manifest)
        else:
            model, _, recipe = name.partition(":")
            ship_generator(model, manifest, args.num_samples, recipe or "improved")
    if args.markdown:
        print(markdown_table(manifest))


if __name__ == "__main__":
    main()
