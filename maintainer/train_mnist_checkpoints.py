"""Train an MNIST generator of a named run (``ganlib.runs.RUNS``) from scratch, resumably.

Usage (the shipped files were made with these, see the ``"run"`` of each entry in
ganlib/weights/manifest.json):

    python maintainer/train_mnist_checkpoints.py --run CGAN_ONEHOT_MISMATCH_EMA --max-minutes 75
    python maintainer/train_mnist_checkpoints.py --run TEXTBOOK_DCGAN --max-minutes 40

The run says everything that decides what is learnt (networks, step, optimizers, batch size,
EMA); it needs no manifest entry, so a new model can be trained before it ships. Training stops
at ``--steps`` or after ``--max-minutes`` of training time, whichever comes first; a killed run
started again with the same arguments resumes from its checkpoint. The generator's weights (EMA
when there is one) are written to ``--out`` in float16, with a ``summary.json`` next to them.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ganlib.data import TensorBatches, load_mnist
from ganlib.runs import RUNS, Run
from ganlib.sampling import recalibrate_batchnorm
from ganlib.train import GAN, fit
from ganlib.utils import get_device

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: maintainer is not installed
from maintainer.shipping import export_weights, run_record  # noqa: E402

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed
MNIST_RUNS = [name for name, run in RUNS.items() if run.clusters is None]  # self-conditioning needs k-means first

def quick_metrics(run: Run, sampler: nn.Module, num_samples: int, device: torch.device) -> dict | None:
    """Metrics of ``sampler`` against the MNIST test set, or None when no evaluator is there yet."""
    try:
        from ganlib.metrics import evaluate_generator
        from ganlib.pretrained import load_pretrained

        evaluator = load_pretrained("mnist_evaluator", device=device)
    except (ImportError, FileNotFoundError, ValueError, KeyError) as error:
        print(f"(no metrics: {error})", flush=True)
        return None
    x_test, _ = load_mnist(train=False, scale="unit")
    sampler = recalibrate_batchnorm(copy.deepcopy(sampler), sampler.z_dim, run.num_classes)
    result = evaluate_generator(sampler, evaluator, x_test, scale=run.networks.scale,
                                num_classes=run.num_classes, num_samples=num_samples,
                                generator=torch.Generator().manual_seed(1234))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, choices=sorted(MNIST_RUNS), help="a named run of ganlib.runs")
    parser.add_argument("--steps", type=int, default=1_000_000, help="stop at this many steps")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after this much training time")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest found)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default=None,
                        help="weights file (default runs/<run>/generator.pt); summary.json goes next to it")
    parser.add_argument("--checkpoint", default=None,
                        help="training checkpoint (default runs/<run>/train.pt)")
    parser.add_argument("--no-resume", action="store_true", help="start over even if a checkpoint exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=200, help="steps between checkpoints")
    parser.add_argument("--eval-every", type=int, default=1000, help="steps between quick metrics (0: never)")
    parser.add_argument("--eval-samples", type=int, default=2000)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    run = RUNS[args.run]
    run_dir = REPO / "runs" / args.run
    checkpoint = Path(args.checkpoint) if args.checkpoint else run_dir / "train.pt"
    out = Path(args.out) if args.out else run_dir / "generator.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if args.no_resume and checkpoint.exists():
        checkpoint.unlink()

    x, y = load_mnist(train=True, scale=run.networks.scale, device=device)
    batches = TensorBatches(x, y, batch_size=run.batch_size, seed=args.seed)
    gan = run.build(device, seed=args.seed)
    budget = args.max_minutes * 60 if args.max_minutes else None
    print(f"{args.run}: {run} on {device}, threads {torch.get_num_threads()}", flush=True)

    def on_log(g: GAN) -> None:
        losses = {k: round(v[-1], 4) for k, v in g.history.items() if k not in ("step", "seconds")}
        print(f"step {g.step} seconds {g.seconds:.0f} {losses}", flush=True)
        if args.eval_every and g.step % args.eval_every == 0:
            result = quick_metrics(run, g.sampler, args.eval_samples, device)
            if result is not None:
                print(f"eval step {g.step} seconds {g.seconds:.0f} {json.dumps(result)}", flush=True)

    # fit stops at --steps or at the first log past --max-minutes, after a checkpoint.
    fit(gan, batches, args.steps, log_every=100 if args.chunk % 100 == 0 else args.chunk, on_log=on_log,
        time_budget=budget, checkpoint_path=checkpoint, checkpoint_every=args.chunk, progress=False)

    sampler = copy.deepcopy(gan.sampler)
    if gan.ema is not None:
        sampler = recalibrate_batchnorm(sampler, sampler.z_dim, run.num_classes, seed=args.seed)
    weights = export_weights(sampler)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weights, out)
    summary = {
        **run_record(args.run),
        "steps": gan.step, "training_seconds": round(gan.seconds, 1), "weights": str(out),
        "command": "python maintainer/train_mnist_checkpoints.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": (f"{platform.machine()} CPU x{torch.get_num_threads()} threads" if device.type == "cpu"
                    else str(device)),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out.parent / "summary.json").write_text(json.dumps(summary, indent=2, default=str))  # next to --out
    print(json.dumps(summary, default=str), flush=True)


if __name__ == "__main__":
    main()
