"""Record the learner's runs of notebooks 01-03, the textbook run and the notebook's run, at equal training time.

Each notebook trains its GAN for a few minutes of CPU time with its own run (``ganlib.runs``,
e.g. ``COURSE_MLP_GAN``) and shows, beside it, the textbook run (DeepLearning.AI's settings)
(``TEXTBOOK_MLP_GAN``) trained for the same time. This script makes both runs exactly as the
notebooks do (same networks, seed, batches, ``fit`` with a time budget), scores them with the MNIST evaluator on 10,000
samples, and records per run the curve of (training seconds, FD, precision, recall, class
accuracy) on 2,000 samples.

The textbook run's generator ships as ``<model>_plain`` (the notebook samples from it); both
runs' figures go into its manifest entry under ``"recorded_runs"``. Run on an idle machine:
the figures are what a learner's 2-core CPU gets in the stated time.

    python maintainer/record_learner_runs.py                 # all three notebooks
    python maintainer/record_learner_runs.py --models mlp_gan_mnist --minutes 3
    python maintainer/record_learner_runs.py --models dcgan_mnist --runs SELF_CONDITIONED_DCGAN   # after changing it

Without the textbook run in ``--runs`` the shipped plain generator (weights and figures) stays as recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

from ganlib.checkpoints import save_checkpoint
from ganlib.clusters import cluster_images
from ganlib.data import TensorBatches, load_mnist
from ganlib.metrics import features, load_evaluator
from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR, sha256_of
from ganlib.runs import RUNS
from ganlib.train import GAN, fit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.scoring import score_gan  # noqa: E402
from maintainer.shipping import export_weights, run_record  # noqa: E402

# Per notebook's model: (notebook, the textbook run whose generator ships as <model>_plain, the notebook's run).
NOTEBOOK_RUNS = {
    "mlp_gan_mnist": ("01", "TEXTBOOK_MLP_GAN", "COURSE_MLP_GAN"),
    "dcgan_mnist": ("02", "TEXTBOOK_DCGAN", "SELF_CONDITIONED_DCGAN"),
    "cgan_onehot_mnist": ("03", "TEXTBOOK_CGAN", "COURSE_CGAN"),
}


def record(run_name: str, minutes: float, args, evaluator, x_test, real_feats) -> tuple[dict, dict]:
    """Train one named run as its notebook's cell does; returns (record, generator weights)."""
    run = RUNS[run_name]
    gan = run.build("cpu", seed=args.seed)
    x, y = load_mnist(args.data_root, train=True, scale=run.networks.scale)
    batch_size = min(run.batch_size, x.shape[0])  # smaller only for a tiny test set
    # A self-conditioned run trains on k-means clusters instead of labels; the clustering is part of
    # its time, so its training gets that much less.
    clustering = cluster_images(x, run.clusters, seed=args.seed) if run.clusters else None
    budget_s = 60 * minutes - (clustering.seconds if clustering else 0.0)
    batches = TensorBatches(x, y if clustering is None else clustering.assignment, batch_size=batch_size,
                            seed=args.seed)
    curve = []
    marks = [minutes * 60 * f for f in (0.125, 0.25, 0.5, 0.75)]

    def score(g: GAN, num_samples: int) -> dict:
        return score_gan(g, evaluator, x_test, real_feats, num_samples, scale=run.networks.scale,
                         clustering=clustering)

    def on_log(g: GAN) -> None:  # evaluation time is not training time (fit stops the clock)
        while marks and g.seconds >= marks[0]:
            marks.pop(0)
            curve.append({"step": g.step, "train_s": round(g.seconds, 1), **score(g, args.curve_samples)})
            print(run_name, json.dumps(curve[-1]), flush=True)

    cpu0 = os.times()
    fit(gan, batches, 10**9, log_every=args.log_every, on_log=on_log, time_budget=budget_s, progress=False)
    cpu1 = os.times()
    final = score(gan, args.final_samples)
    curve.append({"step": gan.step, "train_s": round(gan.seconds, 1), **score(gan, args.curve_samples)})
    result = {**run_record(run_name), "minutes": minutes, "steps": gan.step,
              "training_seconds": round(gan.seconds, 1),
              **({"clustering_seconds": round(clustering.seconds, 1)} if clustering else {}),
              "cpu_seconds": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 1),
              "metrics": final, "curve": curve}
    print(run_name, json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    return result, export_weights(gan.sampler)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(NOTEBOOK_RUNS))
    p.add_argument("--minutes", type=float, default=None, help="override each notebook's default minutes")
    p.add_argument("--final-samples", type=int, default=10_000)
    p.add_argument("--curve-samples", type=int, default=2_000)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None)
    p.add_argument("--runs", default=None, help="which of each model's two runs to record (default: both)")
    p.add_argument("--no-ship", action="store_true", help="print only; do not touch ganlib/weights")
    args = p.parse_args(argv)
    evaluator = load_evaluator("mnist", "cpu")
    x_test, _ = load_mnist(args.data_root, train=False, scale="unit")
    real_feats = features(evaluator, x_test)
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    recorded = {}
    for name in args.models.split(","):
        notebook, textbook, own = NOTEBOOK_RUNS[name]
        plain_name = f"{name}_plain"
        chosen = args.runs.split(",") if args.runs else [textbook, own]
        if not set(chosen) <= {textbook, own}:
            p.error(f"--runs for {name} takes {textbook} and/or {own}, got {args.runs!r}")
        minutes = args.minutes or RUNS[own].minutes
        runs = {}
        for run_name in chosen:
            runs[run_name], weights = record(run_name, minutes, args, evaluator, x_test, real_feats)
            if run_name == textbook:
                plain_weights = weights
        recorded[name] = runs
        if args.no_ship:
            continue
        manifest = json.loads(manifest_path.read_text())
        if textbook not in runs:  # the shipped plain generator stays; only the other run's figures are new
            if plain_name not in manifest["models"]:
                raise SystemExit(f"No recorded {textbook} run of {name} to add to: record both runs first.")
            manifest["models"][plain_name]["recorded_runs"] |= runs
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
            continue
        target = WEIGHTS_DIR / f"{plain_name}.pt"
        save_checkpoint(plain_weights, target)
        textbook_run = RUNS[textbook]
        manifest["models"][plain_name] = {
            "file": target.name, "sha256": sha256_of(target), "class": textbook_run.networks.generator.__name__,
            "kwargs": textbook_run.networks.generator_args,
            "scale": textbook_run.networks.scale, "num_classes": textbook_run.num_classes, "dtype": "float16",
            "description": f"{textbook} (ganlib.runs: the settings of DeepLearning.AI's GANs Specialization) trained "
                           f"for {minutes:g} minutes on a 2-core CPU, as notebook {notebook} trains it with "
                           f"run_name = {textbook!r}; the notebook compares it with its own run",
            "run": textbook,
            "training_command": "python maintainer/record_learner_runs.py " + shlex.join(argv or sys.argv[1:]),
            "training_steps": runs[textbook]["steps"], "training_seconds": runs[textbook]["training_seconds"],
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                       f"{torch.get_num_threads()} torch threads, idle, no GPU",
            "metrics": runs[textbook]["metrics"],
            "recorded_runs": manifest["models"].get(plain_name, {}).get("recorded_runs", {}) | runs,
        }
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return recorded


if __name__ == "__main__":
    main()
