"""Train the MNIST generators that ship in ganlib/weights/, from scratch and resumably.

Usage (the shipped files were made with these, see ganlib/weights/manifest.json):

    python scripts/train_mnist_checkpoints.py --model cgan_onehot_mnist --max-minutes 75
    python scripts/train_mnist_checkpoints.py --model dcgan_mnist --recipe baseline --max-minutes 40

The recipes are ``ganlib.recipes.RECIPES[model]`` (what each lever does is documented on
``ganlib.recipes.Recipe``); ``ganlib.train.gan_step`` applies them. ``--recipe improved``
(default) is what ships: Adam (0.5, 0.999), one-sided label smoothing (real target 0.9),
an exponential moving average of the generator (the EMA weights are saved), and for the
conditional GANs a "mismatch" term that shows the discriminator real images with wrong
labels as fakes (Reed et al. 2016), which forces it to check the class. ``--recipe
baseline`` is the course material's plain setting, used to measure what the improvements
buy at equal training time. The shipped MLP GAN uses ``--recipe r1g1`` (the improved
recipe plus an R1 penalty, gamma 1), which stopped the mode collapse the plain improved
recipe showed (recall 0.03 -> 0.79).

Training stops at ``--steps`` or after ``--max-minutes`` of training time, whichever comes
first; a killed run started again with the same arguments resumes from its checkpoint.
The generator's weights (EMA when there is one) are written to ``--out`` in float16, and
a ``summary.json`` next to them.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ganlib.checkpoints import export_weights
from ganlib.data import TensorBatches, load_mnist
from ganlib.learner_runs import DISCRIMINATORS, build_networks
from ganlib.pretrained import output_scale, pretrained_info
from ganlib.recipes import RECIPES, Recipe, make_gan_from_recipe
from ganlib.sampling import recalibrate_batchnorm
from ganlib.train import GAN, fit
from ganlib.utils import get_device

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed

def build(name: str, recipe: Recipe, device: torch.device, seed: int) -> GAN:
    """Fresh generator and discriminator for ``name`` (``ganlib.learner_runs.build_networks``), wrapped by make_gan."""
    spec = pretrained_info(name)
    G, D = build_networks(name, device, seed=seed)
    return make_gan_from_recipe(G, D, recipe, z_dim=spec["kwargs"]["z_dim"], num_classes=spec["num_classes"],
                                seed=seed)


def quick_metrics(name: str, sampler: nn.Module, num_samples: int, device: torch.device) -> dict | None:
    """Metrics of ``sampler`` against the MNIST test set, or None when no evaluator is there yet."""
    try:
        from ganlib.metrics import evaluate_generator
        from ganlib.pretrained import load_pretrained

        evaluator = load_pretrained("mnist_evaluator", device=device)
    except (ImportError, FileNotFoundError, ValueError, KeyError) as error:
        print(f"(no metrics: {error})", flush=True)
        return None
    x_test, _ = load_mnist(train=False, scale="unit")
    spec = pretrained_info(name)
    sampler = recalibrate_batchnorm(copy.deepcopy(sampler), spec["kwargs"]["z_dim"], spec["num_classes"])
    result = evaluate_generator(sampler, evaluator, x_test, scale=spec["scale"],
                                num_classes=spec["num_classes"], num_samples=num_samples,
                                generator=torch.Generator().manual_seed(1234))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, choices=sorted(DISCRIMINATORS))
    parser.add_argument("--recipe", default="improved", help="a key of RECIPES[model]: improved, baseline, ...")
    parser.add_argument("--steps", type=int, default=1_000_000, help="stop at this many steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest found)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None,
                        help="weights file (default runs/<model>_<recipe>/generator.pt); summary.json goes next to it")
    parser.add_argument("--checkpoint", default=None,
                        help="training checkpoint (default runs/<model>_<recipe>/train.pt)")
    parser.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=200, help="steps between checkpoints")
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between quick metrics (0: never)")
    parser.add_argument("--eval-samples", type=int, default=2000)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    if args.recipe not in RECIPES[args.model]:
        parser.error(f"--recipe must be one of {sorted(RECIPES[args.model])} for {args.model}")
    recipe = RECIPES[args.model][args.recipe]
    run_dir = REPO / "runs" / f"{args.model}_{args.recipe}"
    checkpoint = Path(args.checkpoint) if args.checkpoint else run_dir / "train.pt"
    out = Path(args.out) if args.out else run_dir / "generator.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if args.no_resume and checkpoint.exists():
        checkpoint.unlink()

    x, y = load_mnist(train=True, scale=output_scale(args.model), device=device)
    batches = TensorBatches(x, y, batch_size=recipe.batch_size, seed=args.seed)
    gan = build(args.model, recipe, device, args.seed)  # ganlib.train.gan_step applies the recipe's levers
    budget = args.max_minutes * 60 if args.max_minutes else None
    print(f"{args.model} / {args.recipe}: {recipe} on {device}, threads {torch.get_num_threads()}", flush=True)

    def on_log(g: GAN) -> None:
        losses = {k: round(v[-1], 4) for k, v in g.history.items() if k not in ("step", "seconds")}
        print(f"step {g.step} seconds {g.seconds:.0f} {losses}", flush=True)
        if args.eval_every and g.step % args.eval_every == 0:
            result = quick_metrics(args.model, g.sampler, args.eval_samples, device)
            if result is not None:
                print(f"eval step {g.step} seconds {g.seconds:.0f} {json.dumps(result)}", flush=True)

    # fit stops at --steps or at the first log past --max-minutes, after a checkpoint.
    fit(gan, batches, args.steps, log_every=100 if args.chunk % 100 == 0 else args.chunk, on_log=on_log,
        time_budget=budget, checkpoint_path=checkpoint, checkpoint_every=args.chunk, progress=False)

    sampler = copy.deepcopy(gan.sampler)
    if gan.ema is not None:
        spec = pretrained_info(args.model)
        sampler = recalibrate_batchnorm(sampler, spec["kwargs"]["z_dim"], spec["num_classes"], seed=args.seed)
    weights = export_weights(sampler)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, out)
    summary = {
        "model": args.model, "recipe": args.recipe, "settings": dataclasses.asdict(recipe),
        "steps": gan.step, "training_seconds": round(gan.seconds, 1), "weights": str(out),
        "command": "python scripts/train_mnist_checkpoints.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": (f"{platform.machine()} CPU x{torch.get_num_threads()} threads" if device.type == "cpu"
                    else str(device)),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out.parent / "summary.json").write_text(json.dumps(summary, indent=2, default=str))  # next to --out
    print(json.dumps(summary, default=str), flush=True)


if __name__ == "__main__":
    main()
