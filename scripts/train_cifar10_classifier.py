"""Train the 196-channel ACGAN critic as a CIFAR-10 classifier, fast on one GPU (issue 7).

Data stay on the GPU, augmentation (crop + flip) runs there, Adam is fused, the learning
rate follows a one-cycle schedule, and the loss uses label smoothing. A checkpoint is
written atomically after every epoch; ``--resume`` continues from it. At the end the
weights are exported as a plain state dict (``--fp16`` halves the file) with metrics.

    python scripts/train_cifar10_classifier.py --out runs/cifar10_classifier --epochs 40
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from ganlib.acgan import evaluate_accuracy, train_classifier_epoch
from ganlib.checkpoints import load_checkpoint, save_checkpoint
from ganlib.cifar10 import load_cifar10
from ganlib.models import ACGANCritic
from ganlib.utils import count_parameters, get_device, seed_everything


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/cifar10_classifier", help="folder for checkpoint, weights, metrics")
    p.add_argument("--device", default=None, help="cuda / mps / cpu (default: best available)")
    p.add_argument("--epochs", type=int, default=40, help="length of the one-cycle schedule")
    p.add_argument("--minutes", type=float, default=None, help="stop (and export) after this wall time")
    p.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of AdamW")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--width", type=int, default=196)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (may be slower for this LayerNorm net)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format (may be slower)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--fp16", action="store_true", help="export the weights in float16")
    p.add_argument("--limit", type=int, default=None, help="class-balanced subset (smoke runs)")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--data-root", default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    device = get_device(args.device)
    seed_everything(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    x, y = load_cifar10(args.data_root, train=True, device=device, limit=args.limit)
    x_test, y_test = load_cifar10(args.data_root, train=False, device=device, limit=args.test_limit)
    if args.channels_last:
        x, x_test = x.contiguous(memory_format=torch.channels_last), x_test.contiguous(memory_format=torch.channels_last)
    model = ACGANCritic(width=args.width).to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay,
                            fused=device.type == "cuda")
    steps_per_epoch = x.shape[0] // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    rng = torch.Generator(device).manual_seed(args.seed)
    history: dict[str, list] = {}
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.exists():
        state = load_checkpoint(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        rng.set_state(state["rng"])  # generator states are CPU byte tensors on every device
        history = state["history"]
        print(f"resumed after epoch {len(history.get('epoch', []))}")
    net = torch.compile(model) if args.compile else model
    print(f"{count_parameters(model):,} parameters on {device}; {x.shape[0]} train / {x_test.shape[0]} test images")
    started = time.perf_counter()
    while len(history.get("epoch", [])) < args.epochs:
        t0 = time.perf_counter()
        loss, train_acc = train_classifier_epoch(
            net, opt, x, y, batch_size=args.batch_size, label_smoothing=args.label_smoothing,
            scheduler=sched, autocast_dtype=torch.bfloat16 if args.bf16 else None, generator=rng)
        test_acc = evaluate_accuracy(net, x_test, y_test)
        seconds = time.perf_counter() - t0 + (history["seconds"][-1] if history else 0.0)
        for k, v in (("epoch", len(history.get("epoch", [])) + 1), ("train_loss", loss),
                     ("train_acc", train_acc), ("test_acc", test_acc), ("seconds", seconds)):
            history.setdefault(k, []).append(v)
        print(f"epoch {history['epoch'][-1]:3d}  loss {loss:.4f}  train acc {train_acc:.4f}  "
              f"test acc {test_acc:.4f}  total {seconds:.1f} s", flush=True)
        save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                         "rng": rng.get_state(), "history": history}, ckpt)
        if args.minutes is not None and time.perf_counter() - started > 60 * args.minutes:
            print(f"time limit of {args.minutes} min reached; exporting")
            break
    weights = {k: (v.half() if args.fp16 and v.is_floating_point() else v).cpu()
               for k, v in model.state_dict().items()}
    save_checkpoint(weights, out / "cifar10_critic_classifier.pt")
    metrics = {"test_accuracy": history["test_acc"][-1], "epochs": history["epoch"][-1],
               "training_seconds": round(history["seconds"][-1], 1), "device": str(device),
               "device_name": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
               "args": vars(args)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps({k: metrics[k] for k in ("test_accuracy", "epochs", "training_seconds")}))
    return metrics


if __name__ == "__main__":
    main()
