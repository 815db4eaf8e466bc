"""Ship a finished CIFAR-10 ACGAN run: weights into ganlib/weights/, scores into manifest.json, filmstrip into images/.

Usage, after ``scripts/train_acgan_cifar10.py`` has finished (its ``metrics.json`` says so):

    python scripts/ship_acgan_cifar10.py                 # runs/acgan_cifar10 -> acgan_cifar10
    python scripts/ship_acgan_cifar10.py --run runs/x --samples 2000 --no-manifest   # a quick look

The generator is loaded back through the registry, the way users load it, and scored by the
CIFAR-10 evaluator on ``--samples`` conditional samples (every class equally often): class
accuracy overall and per class, Frechet distance in evaluator features (beside the evaluator's
real-vs-real floor from the manifest), precision and recall. The run's curve (class accuracy
against training and CPU time) and its recipe go into the manifest; the filmstrip frames become
one labelled picture, ``images/04_acgan_filmstrip.png``, that notebook 04 shows.

``--rescore`` scores every curve point again from the run's ``snapshots/`` with the shipped
evaluator (same samples and seed as during training): a run that outlived an evaluator
(retrained to a higher accuracy) then reports one consistent curve.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ganlib.acgan_training import ACGANScorer, LabelledGenerator  # noqa: E402
from ganlib.checkpoints import reproducing_command, save_checkpoint  # noqa: E402
from ganlib.data.cifar10 import CIFAR10_CLASSES, load_cifar10  # noqa: E402
from ganlib.metrics import evaluate_generator, load_evaluator  # noqa: E402
from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR, load_pretrained, pretrained_info, sha256_of  # noqa: E402

REPO = Path(__file__).resolve().parent.parent  # for runs/ and images/; ganlib itself is pip-installed
NAME = "acgan_cifar10"
# Options of train_acgan_cifar10.py that say how or where a session ran, not what the run learnt:
# left out of the manifest's training command (the 16 CPU-hours took several sessions).
SESSION_FLAGS = {"--resume": 0, "--threads": 1, "--out": 1, "--device": 1, "--data-root": 1}


def score(G: torch.nn.Module, num_samples: int, data_root: str | None = None) -> dict:
    """Evaluator metrics of an ACGAN generator on ``num_samples`` balanced conditional samples."""
    evaluator = load_evaluator("cifar10", "cpu")
    x_test, _ = load_cifar10(data_root, train=False, scale="unit")
    labelled = LabelledGenerator(G)
    scores = evaluate_generator(labelled, evaluator, x_test, scale="tanh", num_classes=10, num_samples=num_samples,
                                generator=torch.Generator().manual_seed(0), per_class=True)
    scores["per_class_accuracy"] = {c: round(a, 4) for c, a in zip(CIFAR10_CLASSES, scores["per_class_accuracy"])}
    scores["real_vs_real_fd"] = pretrained_info("cifar10_evaluator")["metrics"]["real_vs_real_fd"]
    return scores


def rescore_curve(run: Path, curve: list[dict], g_kwargs: dict, eval_samples: int,
                  data_root: str | None = None) -> list[dict]:
    """The curve's points scored again, from ``run/snapshots/step_<N>.pt``, by today's evaluator."""
    from ganlib.checkpoints import load_checkpoint, load_model_state
    from ganlib.models import ACGANGenerator

    real, _ = load_cifar10(data_root, train=False, scale="unit", limit=eval_samples)
    score = ACGANScorer(load_evaluator("cifar10", "cpu"), real, eval_samples)
    rescored = []
    for point in curve:
        snapshot = run / "snapshots" / f"step_{point['step']}.pt"
        if not snapshot.exists():
            raise SystemExit(f"{snapshot} is missing: the curve cannot be scored again without it.")
        G = ACGANGenerator(**g_kwargs)
        load_model_state(G, {k: v.float() if v.is_floating_point() else v
                             for k, v in load_checkpoint(snapshot).items()}, str(snapshot))
        rescored.append(point | score(G.eval()))
        print("rescored", json.dumps(rescored[-1]), flush=True)
    return rescored


def filmstrip(run: Path, out: Path, clock: str = "hours of training") -> Path | None:
    """One picture of the run's filmstrip frames (``grid_<hours>h.png``), in training order, labelled.

    ``clock`` names the run's hours: "hours of training" or "CPU-hours" (``--cpu-hours`` runs).
    """
    frames = sorted(run.glob("filmstrip/grid_*h.png"),
                    key=lambda p: float(re.search(r"grid_(?:final_)?([\d.]+)h", p.name).group(1)))
    if not frames:
        return None
    fig, axes = plt.subplots(1, len(frames), figsize=(4.2 * len(frames), 4.6), squeeze=False)
    for ax, frame in zip(axes[0], frames):
        hours = float(re.search(r"([\d.]+)h", frame.name).group(1))
        ax.imshow(plt.imread(frame))
        ax.set_title(f"after {hours:g} {clock}" if "final" not in frame.name else f"shipped ({hours:.1f} {clock})")
        ax.axis("off")
    fig.suptitle("the fixed 10x10 grid during the 2-core CPU run (columns: " + ", ".join(CIFAR10_CLASSES) + ")")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=str(REPO / "runs" / "acgan_cifar10"))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--machine", default="2-core CPU (AMD EPYC with AVX-512 BF16), no GPU")
    parser.add_argument("--load-note", default="", help="what else ran on the CPU during training")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--no-manifest", action="store_true", help="score only; change nothing")
    parser.add_argument("--rescore", action="store_true",
                        help="score the curve again from the run's snapshots with the shipped evaluator")
    args = parser.parse_args(argv)
    run = Path(args.run)
    metrics = json.loads((run / "metrics.json").read_text())
    if not metrics.get("finished"):
        raise SystemExit(f"{run}/metrics.json says the run has not finished: continue it with --resume first.")
    if args.no_manifest:
        from ganlib.models import ACGANGenerator

        G = ACGANGenerator(**metrics["g_kwargs"])
        G.load_state_dict(torch.load(run / "acgan_cifar10.pt", map_location="cpu", weights_only=True))
        found = score(G.eval(), args.samples, args.data_root)
        print(json.dumps(found, indent=1))
        return found
    if args.rescore:
        eval_samples = json.loads((run / "curve.json").read_text())["eval_samples"]
        metrics["curve"] = rescore_curve(run, metrics["curve"], metrics["g_kwargs"], eval_samples, args.data_root)
    target = WEIGHTS_DIR / f"{NAME}.pt"
    save_checkpoint(torch.load(run / "acgan_cifar10.pt", map_location="cpu", weights_only=True), target)
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["models"][NAME] = {
        "file": target.name, "sha256": sha256_of(target), "class": "ACGANGenerator", "kwargs": metrics["g_kwargs"],
        "critic_kwargs": metrics["d_kwargs"], "scale": "tanh", "num_classes": 10,
        "dtype": str(next(iter(torch.load(target, weights_only=True).values())).dtype).replace("torch.", ""),
        "recipe": metrics["recipe"], "training_command": reproducing_command(metrics["command"], SESSION_FLAGS),
        "training_steps": metrics["steps"],
        "training_images": metrics["images"], "training_seconds": metrics["training_seconds"],
        "cpu_seconds": metrics["cpu_seconds"], "wall_seconds": metrics["wall_seconds"],
        "machine": args.machine + (f"; {args.load_note}" if args.load_note else ""),
        "curve": metrics["curve"], "metrics": {},
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    G = load_pretrained(NAME, device="cpu")  # through the registry and its checksum
    found = score(G, args.samples, args.data_root)
    manifest["models"][NAME]["metrics"] = found
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    picture = filmstrip(run, REPO / "images" / "04_acgan_filmstrip.png", metrics.get("clock", "hours of training"))
    print(json.dumps(found, indent=1), "\nfilmstrip:", picture)
    return found


if __name__ == "__main__":
    main()
