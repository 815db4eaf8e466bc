"""Record the learner's default runs of notebooks 01-03, plain and improved recipe, at equal training time.

Each notebook trains its GAN for a few minutes of CPU time with the improved recipe
(``ganlib.recipes``) and shows, beside it, the course material's plain recipe run for the
same time. This script makes both runs exactly as the notebooks do (same networks, seed,
batches, ``fit`` with a time budget), scores them with the MNIST evaluator on 10,000
samples, and records per run the curve of (training seconds, FD, precision, recall, class
accuracy) on 2,000 samples.

The plain run's generator ships as ``<model>_plain`` (the notebook samples from it); both
runs' figures go into its manifest entry under ``"recorded_runs"``. Run on an idle machine:
the figures are what a learner's 2-core CPU gets in the stated time.

    python scripts/record_learner_runs.py                 # all three notebooks
    python scripts/record_learner_runs.py --models mlp_gan_mnist --minutes 3
    python scripts/record_learner_runs.py --models dcgan_mnist --recipes improved   # after changing that recipe

With ``--recipes improved`` the shipped plain run (weights and figures) stays as it was recorded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import sys

import torch

from ganlib.checkpoints import export_weights, save_checkpoint
from ganlib.data import TensorBatches, load_mnist
from ganlib.learner_runs import LEARNER_RUNS, build_learner_gan, learner_clustering, quality
from ganlib.metrics import features, load_evaluator
from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR, pretrained_info, sha256_of
from ganlib.train import fit


def record(name: str, recipe_name: str, minutes: float, args, evaluator, x_test, real_feats) -> tuple[dict, dict]:
    """Train one notebook's GAN as its default cell does; returns (record, generator weights)."""
    spec = LEARNER_RUNS[name]
    gan = build_learner_gan(name, recipe_name, device="cpu", seed=args.seed)
    x, y = load_mnist(args.data_root, train=True, scale=pretrained_info(name)["scale"])
    batch_size = min(spec.recipes[recipe_name].batch_size, x.shape[0])  # smaller only for a tiny test set
    # A self-conditioned run trains on k-means clusters instead of labels; the clustering is part of
    # its time, so its training gets that much less.
    clustering = learner_clustering(name, recipe_name, x, seed=args.seed)
    budget_s = 60 * minutes - (clustering.seconds if clustering else 0.0)
    batches = TensorBatches(x, y if clustering is None else clustering.assignment, batch_size=batch_size,
                            seed=args.seed)
    curve = []
    marks = [minutes * 60 * f for f in (0.125, 0.25, 0.5, 0.75)]

    def on_log(g) -> None:  # evaluation time is not training time (fit stops the clock)
        while marks and g.seconds >= marks[0]:
            marks.pop(0)
            curve.append({"step": g.step, "train_s": round(g.seconds, 1),
                          **quality(name, g, evaluator, x_test, real_feats, args.curve_samples, clustering=clustering)})
            print(name, recipe_name, json.dumps(curve[-1]), flush=True)

    cpu0 = os.times()
    fit(gan, batches, 10**9, log_every=args.log_every, on_log=on_log, time_budget=budget_s, progress=False)
    cpu1 = os.times()
    final = quality(name, gan, evaluator, x_test, real_feats, args.final_samples, clustering=clustering)
    curve.append({"step": gan.step, "train_s": round(gan.seconds, 1),
                  **quality(name, gan, evaluator, x_test, real_feats, args.curve_samples, clustering=clustering)})
    sampler = gan.sampler
    result = {"recipe": recipe_name, "settings": dataclasses.asdict(spec.recipes[recipe_name]),
              "networks": spec.networks.get(recipe_name, {}),
              "minutes": minutes, "steps": gan.step, "training_seconds": round(gan.seconds, 1),
              **({"clustering_seconds": round(clustering.seconds, 1)} if clustering else {}),
              "cpu_seconds": round(cpu1.user + cpu1.system - cpu0.user - cpu0.system, 1),
              "metrics": final, "curve": curve}
    print(name, recipe_name, json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)
    weights = export_weights(sampler)
    return result, weights


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(LEARNER_RUNS))
    p.add_argument("--minutes", type=float, default=None, help="override each notebook's default minutes")
    p.add_argument("--final-samples", type=int, default=10_000)
    p.add_argument("--curve-samples", type=int, default=2_000)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None)
    p.add_argument("--recipes", default="plain,improved", help="which of the two runs to record (again)")
    p.add_argument("--no-ship", action="store_true", help="print only; do not touch ganlib/weights")
    args = p.parse_args(argv)
    recipes = args.recipes.split(",")
    if not recipes or not set(recipes) <= {"plain", "improved"}:
        p.error(f"--recipes takes plain and/or improved, got {args.recipes!r}")
    evaluator = load_evaluator("mnist", "cpu")
    x_test, _ = load_mnist(args.data_root, train=False, scale="unit")
    real_feats = features(evaluator, x_test)
    manifest_path = WEIGHTS_DIR / MANIFEST_NAME
    recorded = {}
    for name in args.models.split(","):
        spec = LEARNER_RUNS[name]
        minutes = args.minutes or spec.minutes
        runs = {}
        for recipe_name in recipes:
            runs[recipe_name], weights = record(name, recipe_name, minutes, args, evaluator, x_test, real_feats)
            if recipe_name == "plain":
                plain_weights = weights
        recorded[name] = runs
        if args.no_ship:
            continue
        manifest = json.loads(manifest_path.read_text())
        if "plain" not in runs:  # the shipped plain run stays; only the other run's figures are new
            if spec.plain_name not in manifest["models"]:
                raise SystemExit(f"No recorded plain run of {name} to add to: record --recipes plain,improved first.")
            manifest["models"][spec.plain_name]["recorded_runs"] |= runs
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
            continue
        target = WEIGHTS_DIR / f"{spec.plain_name}.pt"
        save_checkpoint(plain_weights, target)
        base = manifest["models"][name]
        manifest["models"][spec.plain_name] = {
            "file": target.name, "sha256": sha256_of(target), "class": base["class"],
            "kwargs": base["kwargs"] | {k: v for k, v in spec.networks.get("plain", {}).items() if k == "hidden_dim"},
            "scale": base["scale"], "num_classes": base.get("num_classes"), "dtype": "float16",
            "description": f"the course material's plain recipe trained for {minutes:g} minutes, as notebook "
                           f"{spec.notebook} does with recipe='plain': the left side of its comparison",
            "training_command": "python scripts/record_learner_runs.py " + shlex.join(argv or sys.argv[1:]),
            "training_steps": runs["plain"]["steps"], "training_seconds": runs["plain"]["training_seconds"],
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                       f"{torch.get_num_threads()} torch threads, idle, no GPU",
            "metrics": runs["plain"]["metrics"],
            "recorded_runs": manifest["models"].get(spec.plain_name, {}).get("recorded_runs", {}) | runs,
        }
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return recorded


if __name__ == "__main__":
    main()
