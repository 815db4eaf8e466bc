"""Probe recipes for the learner's few-minute runs of notebooks 01-03: quality against training seconds.

Each probe trains one notebook's networks (``ganlib.learner_runs.build_networks``; a named
recipe's own networks, and for a self-conditioned one its k-means clusters) with one recipe for
``--minutes`` of training and scores the sampler on 2,000 samples at a few points (the clock stops
while scoring). The recipes are ``ganlib.learner_runs`` ones or variants written as
``name:field=value,field=value`` on top of them. Run on an idle CPU, or
with ``--at-steps`` (score after step counts: quality per step does not depend on the load)
and turn steps into minutes with steps per second measured separately on an idle CPU.

    python benchmarks/learner_recipes.py --model cgan_onehot_mnist --minutes 3 \\
        --recipes improved improved:ema_decay=0.99 improved:ema_decay=0.99,real_target=1.0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch
from probe_log import append_record

from ganlib.data import TensorBatches, load_mnist
from ganlib.learner_runs import LEARNER_RUNS, build_learner_gan, learner_clustering, quality
from ganlib.metrics import features, load_evaluator
from ganlib.pretrained import pretrained_info
from ganlib.recipes import Recipe
from ganlib.train import fit


def parse_recipe(model: str, text: str) -> Recipe:
    """``"improved"`` or ``"improved:ema_decay=0.99,lr=4e-4"`` -> a Recipe."""
    base, _, changes = text.partition(":")
    recipe = LEARNER_RUNS[model].recipes[base]
    for change in filter(None, changes.split(",")):
        key, value = change.split("=")
        recipe = dataclasses.replace(recipe, **{key: None if value == "None" else json.loads(value)})
    return recipe


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(LEARNER_RUNS), required=True)
    p.add_argument("--recipes", nargs="+", default=["plain", "improved"])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--points", default="0.33,0.5,0.67,0.83,1.0", help="fractions of the time to score at")
    p.add_argument("--at-steps", default=None, help="score after these step counts instead of --points")
    p.add_argument("--hidden-dim", type=int, default=None, help="base width of both networks (default: shipped)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--out", default="benchmarks/learner_recipes.json")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    evaluator = load_evaluator("mnist", "cpu")
    x_test, _ = load_mnist(train=False, scale="unit")
    real = features(evaluator, x_test)
    x, y = load_mnist(train=True, scale=pretrained_info(args.model)["scale"])
    rows = []
    for text in args.recipes:
        recipe, base = parse_recipe(args.model, text), text.partition(":")[0]
        # the networks of the named recipe (a self-conditioned one also trains on its k-means clusters)
        networks = LEARNER_RUNS[args.model].networks.get(base, {}) | (
            {"hidden_dim": args.hidden_dim} if args.hidden_dim else {})
        gan = build_learner_gan(args.model, recipe, **networks)
        clustering = learner_clustering(args.model, base, x)
        batches = TensorBatches(x, y if clustering is None else clustering.assignment, batch_size=recipe.batch_size,
                                seed=0)
        by_steps = args.at_steps is not None
        marks = sorted(int(v) for v in args.at_steps.split(",")) if by_steps else \
            sorted(60 * args.minutes * float(f) for f in args.points.split(","))
        curve = []

        def on_log(g, marks=marks, curve=curve, clustering=clustering) -> None:
            while marks and (g.step if by_steps else g.seconds) >= marks[0]:
                marks.pop(0)
                curve.append({"train_s": round(g.seconds, 1), "step": g.step,
                              **quality(args.model, g, evaluator, x_test, real, args.samples,
                                        clustering=clustering)})
                print(text, json.dumps(curve[-1]), flush=True)

        cpu = time.process_time()
        fit(gan, batches, marks[-1] if by_steps else 10**9, log_every=25, on_log=on_log,
            time_budget=None if by_steps else 60 * args.minutes, progress=False)
        if marks:  # the budget ended between two logs: score the end too
            curve.append({"train_s": round(gan.seconds, 1), "step": gan.step,
                          **quality(args.model, gan, evaluator, x_test, real, args.samples, clustering=clustering)})
        rows.append({"model": args.model, "recipe": text, "settings": dataclasses.asdict(recipe), "curve": curve,
                     "hidden_dim": args.hidden_dim, "threads": torch.get_num_threads(),
                     "cpu_s": round(time.process_time() - cpu, 1)})
    append_record(args.out, rows=rows)
    return rows


if __name__ == "__main__":
    main()
