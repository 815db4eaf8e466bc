"""Ship a CIFAR-10 ACGAN run: weights into ganlib/weights/, scores into manifest.json, filmstrip into images/.

Usage, after ``maintainer/train_acgan_cifar10.py`` has finished (its ``metrics.json`` says so):

    python maintainer/ship_acgan_cifar10.py                 # runs/acgan_cifar10 -> acgan_cifar10
    python maintainer/ship_acgan_cifar10.py --run runs/x --samples 2000 --no-manifest   # a quick look

A run stopped before its budget (it degraded, or time ran out) ships one of its per-evaluation
snapshots instead, with the command that started it (a stopped run never wrote ``metrics.json``):

    python maintainer/ship_acgan_cifar10.py --snapshot best --why "..." --training-command "python ..."

``--snapshot best`` scores the ``--candidates`` snapshots with the highest class accuracy on the
run's curve again on ``--samples`` samples and ships the most accurate; the manifest keeps every
candidate's scores, since picking by the evaluator's own accuracy flatters the winner a little.

The generator is loaded back through the registry, the way users load it, and scored by the
CIFAR-10 evaluator on ``--samples`` conditional samples (every class equally often): class
accuracy overall and per class, Frechet distance in evaluator features (beside the evaluator's
real-vs-real floor from the manifest), precision and recall. The run's curve (class accuracy
against training and CPU time) and its recipe go into the manifest; the filmstrip frames become
one labelled picture, ``images/04_acgan_filmstrip.png``, that notebook 04 shows.

``--keep-previous-as NAME`` keeps the generator being replaced shipped under another registry name
(its file copied to ``NAME.pt``, its manifest entry moved there), so that a notebook can show the
two side by side; without it the replaced generator's weights go and its record stays in the new
entry's ``earlier_runs``.

``--rescore`` scores every curve point again from the run's ``snapshots/`` with the shipped
evaluator (same samples and seed as during training): a run that outlived an evaluator
(retrained to a higher accuracy) then reports one consistent curve.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torchvision.utils import save_image  # noqa: E402

from ganlib.acgan_training import LabelledGenerator, fixed_grid_noise  # noqa: E402
from ganlib.checkpoints import save_checkpoint  # noqa: E402
from ganlib.data import to_unit_range  # noqa: E402
from ganlib.data.cifar10 import CIFAR10_CLASSES, load_cifar10  # noqa: E402
from ganlib.metrics import evaluate_generator, load_evaluator  # noqa: E402
from ganlib.pretrained import (  # noqa: E402
    KNOWN_NAMES,
    MANIFEST_NAME,
    WEIGHTS_DIR,
    load_pretrained,
    pretrained_info,
    sha256_of,
)
from ganlib.sampling import sample  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.scoring import ACGANScorer  # noqa: E402
from maintainer.shipping import reproducing_command  # noqa: E402

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


def load_snapshot(run: Path, step: int, g_kwargs: dict) -> torch.nn.Module:
    """The generator the run saved at its evaluation of ``step`` (``snapshots/step_<N>.pt``), in float32."""
    from ganlib.checkpoints import load_checkpoint

    snapshot = run / "snapshots" / f"step_{step}.pt"
    if not snapshot.exists():
        raise SystemExit(f"{snapshot} is missing: the run saves one at each evaluation; pick a step of its curve.json.")
    return generator_from_state(load_checkpoint(snapshot), g_kwargs, str(snapshot))


def generator_from_state(state: dict, g_kwargs: dict, source: str) -> torch.nn.Module:
    """An eval-mode float32 ``ACGANGenerator`` from a (float16 or float32) state dict read from ``source``."""
    from ganlib.checkpoints import load_model_state
    from ganlib.models import ACGANGenerator

    G = ACGANGenerator(**g_kwargs)
    load_model_state(G, {k: v.float() if v.is_floating_point() else v for k, v in state.items()}, source)
    return G.eval()


def rescore_curve(run: Path, curve: list[dict], g_kwargs: dict, eval_samples: int,
                  data_root: str | None = None) -> list[dict]:
    """The curve's points scored again, from ``run/snapshots/step_<N>.pt``, by today's evaluator."""
    real, _ = load_cifar10(data_root, train=False, scale="unit", limit=eval_samples)
    score = ACGANScorer(load_evaluator("cifar10", "cpu"), real, eval_samples)
    rescored = []
    for point in curve:
        rescored.append(point | score(load_snapshot(run, point["step"], g_kwargs)))
        print("rescored", json.dumps(rescored[-1]), flush=True)
    return rescored


def finished_run(run: Path) -> tuple[dict, dict]:
    """The exported weights and ``metrics.json`` of a run that spent its budget."""
    path = run / "metrics.json"
    metrics = json.loads(path.read_text()) if path.exists() else {}
    if not metrics.get("finished"):
        raise SystemExit(f"{path} does not say the run has finished: continue it with --resume first, "
                         "or ship one of its snapshots with --snapshot.")
    return torch.load(run / "acgan_cifar10.pt", map_location="cpu", weights_only=True), metrics


def pick_snapshot(run: Path, curve: list[dict], g_kwargs: dict, candidates: int, samples: int,
                  data_root: str | None) -> tuple[int, list[dict]]:
    """The step whose snapshot is most accurate on ``samples`` samples, among the curve's ``candidates`` best.

    Returns the step and every candidate's scores (the curve's accuracy came from fewer samples).
    """
    best = sorted(curve, key=lambda p: p["class_accuracy"], reverse=True)[:candidates]
    scored = []
    for point in best:
        found = score(load_snapshot(run, point["step"], g_kwargs), samples, data_root)
        scored.append({"step": point["step"], "cpu_s": point["cpu_s"],
                       **{k: found[k] for k in ("class_accuracy", "fd", "precision", "recall")}})
        print("candidate", json.dumps(scored[-1]), flush=True)
    return max(scored, key=lambda p: p["class_accuracy"])["step"], scored


def stopped_run(run: Path, args: argparse.Namespace) -> tuple[dict, dict]:
    """A snapshot of a run stopped before its budget, described as ``metrics.json`` describes a finished run."""
    if not args.training_command or not args.why:
        raise SystemExit("--snapshot needs --training-command (the command that started the run) and --why "
                         "(why the run stopped early): a stopped run never wrote them down.")
    curve = json.loads((run / "curve.json").read_text())["points"]
    # The snapshots hold the noise length in their first layer: (channels, z_dim).
    z_dim = torch.load(run / "snapshots" / f"step_{curve[-1]['step']}.pt", weights_only=True)["fc.0.weight"].shape[1]
    config = json.loads((run / "run_config.json").read_text())
    g_kwargs, d_kwargs = {"z_dim": int(z_dim), "width": config["g_width"]}, {"width": config["d_width"]}
    selection = None
    if args.snapshot == "best":
        step, selection = pick_snapshot(run, curve, g_kwargs, args.candidates, args.samples, args.data_root)
    else:
        step = int(args.snapshot)
    point = next((p for p in curve if p["step"] == step), None)
    if point is None:
        raise SystemExit(f"step {step} is not on {run}/curve.json; its evaluated steps: {[p['step'] for p in curve]}")
    clock = json.loads((run / "clock.json").read_text())
    metrics = {"steps": step, "images": point["images"], "training_seconds": point["train_s"],
               "cpu_seconds": point["cpu_s"], "wall_seconds": point["wall_s"], "recipe": config,
               "g_kwargs": g_kwargs, "d_kwargs": d_kwargs, "clock": "CPU-hours", "command": args.training_command,
               "curve": curve, "stopped_early": {"why": args.why, "cpu_seconds_spent": clock["cpu_s"],
                                                 "wall_seconds_spent": clock["wall_s"], "shipped_step": step,
                                                 "selection": selection}}
    return torch.load(run / "snapshots" / f"step_{step}.pt", weights_only=True), metrics


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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=str(REPO / "runs" / "acgan_cifar10"))
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--machine", default="2-core CPU (AMD EPYC with AVX-512 BF16), no GPU")
    parser.add_argument("--load-note", default="", help="what else ran on the CPU during training")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--no-manifest", action="store_true", help="score only; change nothing")
    parser.add_argument("--rescore", action="store_true",
                        help="score the curve again from the run's snapshots with the shipped evaluator")
    parser.add_argument("--snapshot", default=None,
                        help="ship the snapshot of this evaluated step, or 'best', of a run that stopped early")
    parser.add_argument("--candidates", type=int, default=4, help="with --snapshot best: how many to score")
    parser.add_argument("--training-command", default=None, help="with --snapshot: the command that started the run")
    parser.add_argument("--why", default=None, help="with --snapshot: why the run stopped before its budget")
    parser.add_argument("--keep-previous-as", default=None, metavar="NAME",
                        help="keep the generator being replaced shipped under this registry name")
    return parser.parse_args(argv)


def earlier_runs(previous: dict | None) -> list[dict]:
    """The manifest record of the generators a new one replaces, oldest first (no file or checksum:
    their weights are gone, their recipe, curve and scores stay)."""
    if previous is None:
        return []
    kept = {k: v for k, v in previous.items() if k not in ("file", "sha256", "earlier_runs")}
    return list(previous.get("earlier_runs", [])) + [kept]


def keep_previous(manifest: dict, name: str) -> dict | None:
    """Ship the current ``acgan_cifar10`` also as ``name`` (a copy of its file, its entry moved).

    Returns the entry that stays under ``name`` (None when nothing was shipped yet). Its
    ``earlier_runs`` move with it to the new generator's entry, which replaces it.
    """
    if name not in KNOWN_NAMES or name == NAME:
        raise SystemExit(f"--keep-previous-as {name!r}: not a registry name other than {NAME!r} "
                         f"(ganlib.pretrained.TRAINING_COMMANDS lists them)")
    previous = manifest["models"].get(NAME)
    if previous is None:
        return None
    if sha256_of(WEIGHTS_DIR / previous["file"]) != previous["sha256"]:
        raise SystemExit(f"{previous['file']} does not match its sha256 in the manifest: restore it from git first.")
    kept = {k: v for k, v in previous.items() if k != "earlier_runs"} | {"file": f"{name}.pt"}
    shutil.copyfile(WEIGHTS_DIR / previous["file"], WEIGHTS_DIR / kept["file"])
    manifest["models"][name] = kept
    return kept


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    run = Path(args.run)
    state, metrics = stopped_run(run, args) if args.snapshot else finished_run(run)
    if args.no_manifest:
        found = score(generator_from_state(state, metrics["g_kwargs"], str(run)), args.samples, args.data_root)
        print(json.dumps(found, indent=1))
        return found
    if args.rescore:
        eval_samples = json.loads((run / "curve.json").read_text())["eval_samples"]
        metrics["curve"] = rescore_curve(run, metrics["curve"], metrics["g_kwargs"], eval_samples, args.data_root)
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    previous = manifest["models"].get(NAME)
    # Before the new weights overwrite its file:
    if args.keep_previous_as and keep_previous(manifest, args.keep_previous_as) is not None:
        earlier = list(previous.get("earlier_runs", []))  # the kept one is shipped, not a record
    else:
        earlier = earlier_runs(previous)
    target = WEIGHTS_DIR / f"{NAME}.pt"
    save_checkpoint(state, target)
    manifest["models"][NAME] = {
        "file": target.name, "sha256": sha256_of(target), "class": "ACGANGenerator", "kwargs": metrics["g_kwargs"],
        "critic_kwargs": metrics["d_kwargs"], "scale": "tanh", "num_classes": 10,
        "dtype": str(next(iter(state.values())).dtype).replace("torch.", ""),
        "run": metrics.get("run"), "recipe": metrics["recipe"],
        "training_command": reproducing_command(metrics["command"], SESSION_FLAGS),
        "training_steps": metrics["steps"],
        "training_images": metrics["images"], "training_seconds": metrics["training_seconds"],
        "cpu_seconds": metrics["cpu_seconds"], "wall_seconds": metrics["wall_seconds"],
        "machine": args.machine + (f"; {args.load_note}" if args.load_note else ""),
        **({"stopped_early": metrics["stopped_early"]} if "stopped_early" in metrics else {}),
        "curve": metrics["curve"], "metrics": {},
        **({"earlier_runs": earlier} if earlier else {}),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    G = load_pretrained(NAME, device="cpu")  # through the registry and its checksum
    found = score(G, args.samples, args.data_root)
    manifest["models"][NAME]["metrics"] = found
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    if "stopped_early" in metrics:  # the run's last frame is not the shipped generator: add its frame
        for old in run.glob("filmstrip/grid_final_*"):  # a snapshot shipped before this one
            old.unlink()
        z_grid, _ = fixed_grid_noise(rows=10, z_dim=G.z_dim)  # the noise of the run's own frames
        save_image(to_unit_range(sample(G, z_grid), "tanh"),
                   run / "filmstrip" / f"grid_final_{metrics['cpu_seconds'] / 3600:.2f}h.png", nrow=10)
    picture = filmstrip(run, REPO / "images" / "04_acgan_filmstrip.png", metrics.get("clock", "hours of training"))
    print(json.dumps(found, indent=1), "\nfilmstrip:", picture)
    return found


if __name__ == "__main__":
    main()
