"""Probe self-conditioning for notebook 02's DCGAN: condition on k-means clusters instead of labels.

Notebook 03's conditional GAN, the same DCGAN networks with class inputs, reaches FD 2.0 after
650 steps, while the unconditional DCGAN is still near FD 6 after 3,000 (``benchmarks/README.md``):
knowing which kind of digit to draw makes the game much easier. Self-conditioning (Liu et al.,
"Diverse Image Generation via Self-Conditioned GANs", CVPR 2020) gets that help without labels:
cluster the training images, train a conditional GAN on the cluster indices, and draw an
unconditional sample by picking a cluster at its frequency in the data. Scored by step (1 thread),
FD / precision / recall on 2,000 samples, records in ``learner_recipes.json``.

    python benchmarks/dcgan_self_conditioning_probe.py --clusters 10 --seed 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch
from probe_log import append_record

from ganlib.clusters import ClusterSampler, cluster_images
from ganlib.data import TensorBatches
from ganlib.data.mnist import load_mnist
from ganlib.learner_runs import build_networks
from ganlib.metrics import evaluate_generator, features, load_evaluator
from ganlib.recipes import FAST_CGAN, make_gan_from_recipe
from ganlib.train import fit


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clusters", type=int, default=10, help="k of k-means (0: the true labels, for comparison)")
    p.add_argument("--hidden-dim", type=int, default=64)
    p.add_argument("--mismatch", type=float, default=FAST_CGAN.mismatch_weight)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--at-steps", default="250,500,750,1000,1300,1600,2000")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="benchmarks/learner_recipes.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    evaluator = load_evaluator("mnist", "cpu")
    x_test, _ = load_mnist(train=False, scale="unit")
    real = features(evaluator, x_test)
    x, y = load_mnist(train=True, scale="tanh")
    start = time.process_time()
    groups = cluster_images(x, args.clusters, seed=args.seed).assignment if args.clusters else y
    kmeans_cpu_s = round(time.process_time() - start, 2)
    k = args.clusters or 10
    sizes = torch.bincount(groups, minlength=k)
    purity = sum(torch.bincount(y[groups == c], minlength=10).max().item() for c in range(k)) / len(y)
    print(f"k={k}: {kmeans_cpu_s} CPU-s, purity {purity:.3f}, sizes {sizes.tolist()}")
    recipe = dataclasses.replace(FAST_CGAN, mismatch_weight=args.mismatch)
    G, D = build_networks("dcgan_mnist", seed=args.seed, hidden_dim=args.hidden_dim, clusters=k)
    gan = make_gan_from_recipe(G, D, recipe, z_dim=G.z_dim, num_classes=k, seed=args.seed)
    marks = sorted(int(s) for s in args.at_steps.split(","))
    curve = []

    def on_log(g) -> None:
        while marks and g.step >= marks[0]:
            marks.pop(0)
            sampler = ClusterSampler(g.sampler, sizes)
            s = evaluate_generator(sampler, evaluator, x_test, scale="tanh", num_samples=args.samples,
                                   generator=torch.Generator().manual_seed(0), real_features=real)
            point = {"step": g.step, "train_s": round(g.seconds, 1), **{m: round(s[m], 4) for m in
                                                                       ("fd", "precision", "recall")}}
            curve.append(point)
            print(json.dumps(point), flush=True)

    fit(gan, TensorBatches(x, groups, batch_size=recipe.batch_size, seed=args.seed), marks[-1], log_every=25,
        on_log=on_log, progress=False)
    row = {"model": "dcgan_mnist", "probe": "dcgan_self_conditioning_probe", "clusters": args.clusters,
           "purity": round(purity, 4), "kmeans_cpu_s": kmeans_cpu_s, "seed": args.seed,
           "settings": dataclasses.asdict(recipe), "hidden_dim": args.hidden_dim, "curve": curve}
    append_record(args.out, rows=[row])
    return [row]


if __name__ == "__main__":
    main()
