"""Train the MNIST evaluator network of ganlib.metrics (features + class accuracy).

Usage (how the shipped ganlib/weights/mnist_evaluator.pt was made):

    python maintainer/train_mnist_evaluator.py --epochs 2 --threads 1

A small CNN (ganlib.models.evaluator.Evaluator) trained with Adam and a linearly decaying
learning rate on the 60,000 training images, with random shifts of up to 2 pixels so that
it does not rely on exact digit placement. Its accuracy is measured on the 10,000 test
images. The state dict is saved in float32 (it is small, and its features define every
distance the course reports).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ganlib.classifier import evaluate_accuracy
from ganlib.data import TensorBatches, load_mnist
from ganlib.models.evaluator import Evaluator
from ganlib.utils import get_device, seed_everything

REPO = Path(__file__).resolve().parent.parent  # for runs/; ganlib itself is pip-installed


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by its own random offset in [-max_shift, max_shift] pixels (zero fill).

    Args:
        x: images ``(n, C, H, W)``.
    Returns:
        Shifted images, same shape.
    """
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dy, dx = (torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "runs" / "mnist_evaluator" / "mnist_evaluator.pt"))
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    rng = seed_everything(args.seed)
    x, y = load_mnist(train=True, scale="unit", device=device)
    x_test, y_test = load_mnist(train=False, scale="unit", device=device)
    model = Evaluator(image_channels=1, image_size=28, num_classes=10, width=args.width).to(device)
    batches = TensorBatches(x, y, batch_size=args.batch_size, seed=args.seed)
    total = args.epochs * len(batches)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 - step / total)
    started = time.perf_counter()
    model.train()
    for step in range(1, total + 1):
        xb, yb = next(batches)
        loss = F.cross_entropy(model(random_shift(xb, 2, rng)), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        if step % 100 == 0 or step == total:
            print(f"step {step}/{total} loss {loss.item():.4f} {time.perf_counter() - started:.0f}s", flush=True)
    seconds = time.perf_counter() - started
    test_accuracy = evaluate_accuracy(model, x_test, y_test, batch_size=1000)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, out)
    summary = {
        "test_accuracy": test_accuracy,
        "train_accuracy": evaluate_accuracy(model, x[:10000], y[:10000], batch_size=1000),
        "steps": total, "training_seconds": round(seconds, 1), "weights": str(out),
        "kwargs": {"image_channels": 1, "image_size": 28, "num_classes": 10, "width": args.width},
        "command": "python maintainer/train_mnist_evaluator.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "machine": (f"{platform.machine()} CPU x{torch.get_num_threads()} threads" if device.type == "cpu"
                    else str(device)),
    }
    (out.parent / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
