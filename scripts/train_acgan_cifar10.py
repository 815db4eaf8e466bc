"""Train ACGAN with the WGAN-GP loss on CIFAR-10 (the generator of notebook 04), on a CPU or a GPU.

Data stay on the device; each step is one critic and one generator update
(:func:`ganlib.acgan_training.acgan_step`, gradient penalty eager). ``ganlib.train.fit`` writes an
atomic checkpoint every epoch and ``--resume`` continues from it exactly. A 10x10 grid
from fixed noise (one class per column) is saved after every epoch. The exported
generator is the EMA one with ``--ema``.

    python scripts/train_acgan_cifar10.py --out runs/acgan_cifar10 --epochs 200 --ema 0.999
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

import torch
from torchvision.utils import save_image

from ganlib.acgan_training import acgan_step, fixed_grid_noise, make_acgan
from ganlib.checkpoints import save_checkpoint
from ganlib.data import TensorBatches, to_unit_range
from ganlib.data.cifar10 import load_cifar10
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.train import fit
from ganlib.utils import get_device, seed_everything


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/acgan_cifar10")
    p.add_argument("--device", default=None)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--minutes", type=float, default=None, help="stop (and export) after this wall time")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lambda-gp", type=float, default=10.0)
    p.add_argument("--ema", type=float, default=None, help="EMA decay of the generator, e.g. 0.999")
    p.add_argument("--no-flip", action="store_true", help="do not mirror real images")
    p.add_argument("--width", type=int, default=196)
    p.add_argument("--fp16", action="store_true", help="export the generator in float16")
    p.add_argument("--limit", type=int, default=None, help="class-balanced subset (smoke runs)")
    p.add_argument("--steps", type=int, default=None, help="override epochs: total steps (smoke runs)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = get_device(args.device)
    seed_everything(args.seed)
    out = Path(args.out)
    (out / "grids").mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    x, y = load_cifar10(args.data_root, train=True, device=device, limit=args.limit)
    batches = TensorBatches(x, y, batch_size=min(args.batch_size, x.shape[0]), seed=args.seed)
    steps_per_epoch = len(batches)
    total = args.steps or args.epochs * steps_per_epoch
    G, D = ACGANGenerator(width=args.width).to(device), ACGANCritic(width=args.width).to(device)
    gan = make_acgan(G, D, lr=args.lr, ema_decay=args.ema, seed=args.seed)
    z_grid, _ = fixed_grid_noise(rows=10, device=device)
    ckpt = out / "checkpoint.pt"
    if ckpt.exists() and not args.resume:
        raise SystemExit(f"{ckpt} exists: pass --resume to continue it, or choose another --out.")

    def on_log(gan) -> None:
        sampler = gan.sampler
        sampler.eval()
        with torch.no_grad():
            save_image(to_unit_range(sampler(z_grid), "tanh"), out / "grids" / f"step{gan.step:07d}.png", nrow=10)
        sampler.train()
        h = gan.history
        print(f"step {gan.step}/{total}  " + "  ".join(f"{k} {h[k][-1]:.3f}" for k in h if k != "step")
              , flush=True)

    log_every = min(steps_per_epoch, total)
    step_fn = functools.partial(acgan_step, lambda_gp=args.lambda_gp, flip=not args.no_flip)
    budget = None if args.minutes is None else 60 * args.minutes
    # fit() stops at the first log (one per epoch) past the budget, after a checkpoint.
    fit(gan, batches, total, step_fn=step_fn, log_every=log_every, on_log=on_log, time_budget=budget,
        checkpoint_path=ckpt, checkpoint_every=log_every, resume=True, progress=False)
    if gan.step < total:
        print(f"time limit of {args.minutes} min reached at step {gan.step}; exporting")
    export = {k: (v.half() if args.fp16 and v.is_floating_point() else v).cpu()
              for k, v in gan.sampler.state_dict().items()}
    save_checkpoint(export, out / "acgan_cifar10.pt")
    metrics = {"steps": gan.step, "epochs": gan.step / steps_per_epoch,
               "training_seconds": round(gan.seconds, 1), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "last_losses": {k: v[-1] for k, v in gan.history.items() if k not in ("step", "seconds")},
               "args": vars(args)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps({k: metrics[k] for k in ("steps", "training_seconds", "last_losses")}))
    return metrics


if __name__ == "__main__":
    main()
