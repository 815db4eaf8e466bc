"""Side-by-side speed of ganlib's training path and a course-style loop, on one machine, in one run.

For each GAN (MLP on MNIST, one-hot conditional DCGAN on MNIST, ACGAN + WGAN-GP on
CIFAR-10) it times, at the same batch size and after a warm-up,

- baseline: ``benchmarks/baseline_loops.py`` (DataLoader + CPU transforms, eager steps,
  a ``.item()`` per step, plain Adam), and
- ganlib: ``TensorBatches`` on the device + ``ganlib.train.fit`` with the library's steps
  (fused Adam on CUDA, no per-step sync),

with the same architectures (parameter counts are checked), losses and optimizer settings.
It can also time how long the conditional GAN trains until the MNIST evaluator recognises
95 % of its conditional samples (``--ttq-cap``). Results go to ``--out`` (JSON) and a
markdown table next to it (``.md``), which is also printed.

    python benchmarks/bench.py                       # all loops on the default device
    python benchmarks/bench.py --device cuda --ttq-cap 600
    python benchmarks/bench.py --only mlp --steps 50 --warmup 5
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import baseline_loops as base
import numpy as np
import torch

from ganlib.data import TensorBatches, load_mnist, resolve_data_root
from ganlib.models import (
    ACGANCritic,
    ACGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    OneHotConditionalDiscriminator,
    OneHotConditionalGenerator,
    init_dcgan_weights,
)
from ganlib.train import GAN, fit, make_gan
from ganlib.utils import count_parameters, get_device, seed_everything

LOOPS = ("mlp", "cgan", "acgan")
TITLES = {"mlp": "MLP GAN, MNIST", "cgan": "conditional DCGAN (one-hot), MNIST",
          "acgan": "ACGAN + WGAN-GP, CIFAR-10"}
H100_TARGETS = {"mlp": 10.0, "cgan": 5.0, "acgan": 1.3}  # wanted ganlib / baseline speed-up on an H100
# (steps, warm-up) when not given: a CPU needs seconds per ACGAN step, a GPU milliseconds.
DEFAULT_STEPS = {"cpu": {"mlp": (100, 10), "cgan": (20, 3), "acgan": (3, 1)},
                 "gpu": {"mlp": (1000, 100), "cgan": (1000, 100), "acgan": (200, 20)}}
Z_DIM, NUM_CLASSES, LR, BETAS = 64, 10, 2e-4, (0.5, 0.999)
ACGAN_Z_DIM, ACGAN_LR, ACGAN_BETAS = 128, 1e-4, (0.0, 0.9)


def sync(device: torch.device) -> None:
    """Wait for queued device work, so that a clock read means what it says."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def check_same_size(ours: torch.nn.Module, theirs: torch.nn.Module, what: str) -> int:
    """Both sides must train the same network: same number of parameters."""
    a, b = count_parameters(ours), count_parameters(theirs)
    if a != b:
        raise RuntimeError(f"{what}: ganlib has {a} parameters, the baseline {b}; they must match.")
    return a


def timed(device: torch.device, run: Callable[[int], int], steps: int, warmup: int) -> dict:
    """Run ``warmup`` steps, then time ``steps`` more; ``run(n)`` returns images trained on."""
    run(warmup)
    sync(device)
    started = time.perf_counter()
    images = run(steps)
    sync(device)
    seconds = time.perf_counter() - started
    return {"img_per_s": images / seconds, "seconds": seconds, "images": images}


# --- the three loops, each side built from scratch ------------------------------------------------


def mlp_sides(args, device):
    seed_everything(args.seed)
    gen, disc = base.Generator(Z_DIM).to(device), base.Discriminator().to(device)
    gen_opt = torch.optim.Adam(gen.parameters(), lr=LR, betas=BETAS)
    disc_opt = torch.optim.Adam(disc.parameters(), lr=LR, betas=BETAS)
    loader = base.mnist_loader(str(args.data_root), args.batch_size, normalize=False, workers=args.workers)

    def baseline(n: int) -> int:
        return base.train_mlp_gan(gen, disc, gen_opt, disc_opt, loader, Z_DIM, device, n)

    x, y = load_mnist(args.data_root, scale="unit", download=False, device=device)
    gan = make_gan(MLPGenerator(Z_DIM).to(device), MLPDiscriminator().to(device), z_dim=Z_DIM,
                   lr=LR, betas=BETAS, seed=args.seed, compile=args.compile or False)
    params = (check_same_size(gan.G, gen, "MLP generator")
              + check_same_size(gan.D, disc, "MLP discriminator"))
    return baseline, ganlib_runner(gan, TensorBatches(x, y, batch_size=args.batch_size, seed=args.seed)), params, {
        "baseline_data": f"DataLoader(torchvision MNIST, ToTensor, shuffle, num_workers={args.workers})",
        "ganlib_data": "TensorBatches over load_mnist(scale='unit') on the device"}


def cgan_sides(args, device):
    seed_everything(args.seed)
    gen, disc = base.CondGenerator(Z_DIM + NUM_CLASSES).to(device), base.CondDiscriminator(1 + NUM_CLASSES).to(device)
    gen.apply(base.weights_init)
    disc.apply(base.weights_init)
    gen_opt = torch.optim.Adam(gen.parameters(), lr=LR, betas=BETAS)
    disc_opt = torch.optim.Adam(disc.parameters(), lr=LR, betas=BETAS)
    loader = base.mnist_loader(str(args.data_root), args.batch_size, normalize=True, workers=args.workers)

    def baseline(n: int, hook=None) -> int:
        return base.train_cond_gan(gen, disc, gen_opt, disc_opt, loader, Z_DIM, NUM_CLASSES, device, n, hook=hook)

    x, y = load_mnist(args.data_root, scale="tanh", download=False, device=device)
    G = OneHotConditionalGenerator(Z_DIM, NUM_CLASSES).to(device)
    D = OneHotConditionalDiscriminator(NUM_CLASSES).to(device)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    gan = make_gan(G, D, z_dim=Z_DIM, num_classes=NUM_CLASSES, lr=LR, betas=BETAS, seed=args.seed,
                   compile=args.compile or False)
    params = check_same_size(G, gen, "conditional generator") + check_same_size(D, disc, "conditional discriminator")
    batches = TensorBatches(x, y, batch_size=args.batch_size, seed=args.seed)
    sides = {"baseline": (baseline, gen,
                          lambda z, labels: gen(base.combine_vectors(z, base.get_one_hot_labels(labels, NUM_CLASSES)))),
             "ganlib": (ganlib_runner(gan, batches), G, G)}
    return baseline, sides["ganlib"][0], params, {
        "baseline_data": f"DataLoader(torchvision MNIST, ToTensor + Normalize, shuffle, num_workers={args.workers})",
        "ganlib_data": "TensorBatches over load_mnist(scale='tanh') on the device"}, sides


def acgan_sides(args, device):
    from ganlib.acgan_training import acgan_step, make_acgan
    from ganlib.data.cifar10 import load_cifar10_uint8

    images, labels = load_cifar10_uint8(args.data_root, download=False, limit=args.limit)
    seed_everything(args.seed)
    np.random.seed(args.seed)
    aG, aD = base.GeneratorNet(ACGAN_Z_DIM).to(device), base.CriticNet().to(device)
    optimizer_g = torch.optim.Adam(aG.parameters(), lr=ACGAN_LR, betas=ACGAN_BETAS)
    optimizer_d = torch.optim.Adam(aD.parameters(), lr=ACGAN_LR, betas=ACGAN_BETAS)
    if args.cifar_baseline == "folder":
        loader = base.cifar_folder_loader(str(Path(args.data_root) / "cifar10" / "train"), args.batch_size,
                                          workers=args.cifar_workers)
        data_note = "ImageFolder over the cifar10/train JPEG tree (decoded per image)"
    else:
        loader = base.DataLoader(InMemoryCIFAR(images, labels), batch_size=args.batch_size, shuffle=True,
                                 num_workers=args.cifar_workers, persistent_workers=args.cifar_workers > 0)
        data_note = "decoded uint8 images in memory, PIL per image like torchvision's CIFAR10"
    data_note += (f", RandomHorizontalFlip + ToTensor + Normalize, shuffle, num_workers={args.cifar_workers}")

    def baseline(n: int) -> int:
        return base.train_acgan_wgan_gp(aG, aD, optimizer_g, optimizer_d, loader, ACGAN_Z_DIM, NUM_CLASSES,
                                        device, n)

    G, D = ACGANGenerator(ACGAN_Z_DIM).to(device), ACGANCritic(NUM_CLASSES).to(device)
    params = check_same_size(G, aG, "ACGAN generator") + check_same_size(D, aD, "ACGAN critic")
    gan = make_acgan(G, D, lr=ACGAN_LR, betas=ACGAN_BETAS, seed=args.seed)
    x = images.to(device).float().div_(255.0).mul_(2).sub_(1)  # [-1, 1], like Normalize(0.5, 0.5)
    batches = TensorBatches(x, labels.to(device), batch_size=args.batch_size, seed=args.seed)
    step = functools.partial(acgan_step, flip=True)  # the same random flip, on the device
    return baseline, ganlib_runner(gan, batches, step), params, {
        "baseline_data": data_note,
        "ganlib_data": f"TensorBatches over load_cifar10 on the device ({x.shape[0]} images), "
                       "random_flip on the device"}


class InMemoryCIFAR(torch.utils.data.Dataset):
    """CIFAR-10 kept decoded in memory; each item goes through PIL and the CPU transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        from torchvision import transforms

        self.data = images.permute(0, 2, 3, 1).numpy()  # (N, 32, 32, 3) uint8, as torchvision stores it
        self.targets = labels.tolist()
        self.transform = transforms.Compose([
            transforms.RandomHorizontalFlip(), transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        from PIL import Image

        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def ganlib_runner(gan: GAN, batches: TensorBatches, step_fn=None) -> Callable[..., int]:
    """``run(n)``: train ``n`` more steps with ``fit`` (no progress bar); returns images trained on."""
    kwargs = {"step_fn": step_fn} if step_fn is not None else {}

    def run(n: int, on_log=None, log_every: int = 100) -> int:
        start = gan.step
        fit(gan, batches, gan.step + n, progress=False, log_every=log_every, on_log=on_log, **kwargs)
        return (gan.step - start) * batches.batch_size

    return run


# --- time to quality ---------------------------------------------------------------------------------


def time_to_quality(args, device, sides: dict, evaluator) -> dict:
    """Seconds of training until conditional samples reach the class-accuracy target, per side."""
    from ganlib.metrics import class_accuracy

    out = {"target_class_accuracy": args.ttq_target, "cap_s": args.ttq_cap, "eval_every_steps": args.ttq_every,
           "samples_per_eval": 100 * NUM_CLASSES, "sampling": "generator in eval mode, 100 per class"}
    for side, (run, module, sample) in sides.items():
        labels = torch.arange(NUM_CLASSES, device=device).repeat(100)
        z = torch.randn(labels.numel(), Z_DIM, generator=torch.Generator().manual_seed(1)).to(device)
        state = {"train_s": 0.0, "resumed": 0.0, "steps": 0, "curve": [], "reached": False}

        def check(step: int) -> bool:
            sync(device)
            state["train_s"] += time.perf_counter() - state["resumed"]
            state["steps"] += args.ttq_every
            module.eval()
            with torch.no_grad():
                accuracy = class_accuracy(evaluator, sample(z, labels), labels, scale="tanh")
            module.train()
            state["curve"].append([state["steps"], round(state["train_s"], 2), round(accuracy, 4)])
            print(f"  time to quality, {side}: step {state['steps']}, {state['train_s']:.1f} s, "
                  f"class accuracy {accuracy:.3f}", flush=True)
            state["reached"] = accuracy >= args.ttq_target
            done = state["reached"] or state["train_s"] >= args.ttq_cap
            state["resumed"] = time.perf_counter()
            return done

        sync(device)
        state["resumed"] = time.perf_counter()
        if side == "baseline":
            run(10**9, hook=lambda step: step % args.ttq_every == 0 and check(step))
        else:
            run(10**9, on_log=lambda gan: check(gan.step), log_every=args.ttq_every)  # True stops fit
        out[side] = {"reached": state["reached"], "seconds": round(state["train_s"], 2) if state["reached"] else None,
                     "steps": state["steps"], "trained_s": round(state["train_s"], 2),
                     "best_class_accuracy": max((c[2] for c in state["curve"]), default=None),
                     "curve_step_seconds_accuracy": state["curve"],
                     "summary": (f"{state['train_s']:.1f} s ({state['steps']} steps)" if state["reached"]
                                 else f"not reached within {args.ttq_cap:g} s")}
    return out


# --- report --------------------------------------------------------------------------------------------


def machine_info(device: torch.device) -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    if hasattr(os, "getloadavg"):
        info["load_average_1_5_15_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def markdown_table(results: dict) -> str:
    lines = ["| loop | device | batch | steps timed | baseline img/s | ganlib img/s | speed-up | H100 target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in LOOPS:
        r = results.get("loops", {}).get(name)
        if r is None:
            continue
        compiled = (f" (compiled: {r['ganlib_compiled_img_per_s']:,.0f})" if r.get("ganlib_compiled_img_per_s") else "")
        lines.append(f"| {TITLES[name]} | {r['device_name']} | {r['batch_size']} | {r['steps_timed']} | "
                     f"{r['baseline_img_per_s']:,.0f} | {r['ganlib_img_per_s']:,.0f}{compiled} | "
                     f"{r['speedup']:.2f}x | {H100_TARGETS[name]:g}x |")
    ttq = results.get("time_to_quality")
    if ttq:
        lines += ["", f"Time to quality (conditional DCGAN, training seconds until {ttq['target_class_accuracy']:.0%} "
                  f"of conditional samples are classified as their class by the MNIST evaluator; "
                  f"device {ttq.get('device_name', '?')}):", "",
                  "| loop | time to quality | best class accuracy |", "| --- | --- | --- |"]
        for side in ("baseline", "ganlib"):
            if side in ttq:
                best = ttq[side]["best_class_accuracy"]
                lines.append(f"| {side} | {ttq[side]['summary']} | {best if best is not None else '-'} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the fastest available)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per side (default: per loop and device)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: per loop and device)")
    p.add_argument("--only", default=",".join(LOOPS), help=f"comma-separated subset of {', '.join(LOOPS)}")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--data-root", default=None, help="folder with MNIST/raw and cifar10/ (default: ganlib's search)")
    p.add_argument("--limit", type=int, default=None, help="use only this many CIFAR-10 images (tests)")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers of the MNIST baselines (course: 0)")
    p.add_argument("--cifar-workers", type=int, default=min(8, os.cpu_count() or 1),
                   help="DataLoader workers of the CIFAR-10 baseline")
    p.add_argument("--cifar-baseline", choices=("memory", "folder"), default="memory",
                   help="baseline data: decoded images in memory (like torchvision's CIFAR10) or the JPEG tree")
    p.add_argument("--compile", default=None, nargs="?", const="default",
                   help="also time ganlib with make_gan(compile=MODE), e.g. default or reduce-overhead")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--ttq-cap", type=float, default=0.0,
                   help="time to quality: training-seconds cap per side for the conditional GAN (0: skip)")
    p.add_argument("--ttq-target", type=float, default=0.95)
    p.add_argument("--ttq-every", type=int, default=100, help="steps between class-accuracy checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text stored with the results (e.g. machine load)")
    args = p.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(LOOPS))
    if unknown:
        p.error(f"unknown loop(s) {unknown}; choose from {', '.join(LOOPS)}")
    args.data_root = resolve_data_root(args.data_root)
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = get_device(args.device)
    kind = "cpu" if device.type == "cpu" else "gpu"
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results.setdefault("loops", {})
    machine = machine_info(device)
    device_name = machine.get("gpu", f"CPU, {machine['cpu_count']} cores") if device.type != "mps" else "Apple MPS"
    started_at = datetime.datetime.now().isoformat(timespec="seconds")
    print(f"device {device} ({device_name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"load average {machine.get('load_average_1_5_15_at_start')}", flush=True)

    builders = {"mlp": mlp_sides, "cgan": cgan_sides, "acgan": acgan_sides}
    ttq_sides = None
    for name in args.only:
        steps, warmup = DEFAULT_STEPS[kind][name]
        steps, warmup = args.steps or steps, args.warmup if args.warmup is not None else warmup
        compile_mode, args.compile = args.compile, None  # time the eager ganlib path first
        built = builders[name](args, device)
        baseline, ganlib_run, params, notes = built[:4]
        r_base = timed(device, baseline, steps, warmup)
        print(f"{name}: baseline {r_base['img_per_s']:,.0f} img/s", flush=True)
        r_lib = timed(device, ganlib_run, steps, warmup)
        speedup = r_lib["img_per_s"] / r_base["img_per_s"]
        print(f"{name}: ganlib   {r_lib['img_per_s']:,.0f} img/s ({speedup:.2f}x)", flush=True)
        entry = {"baseline_img_per_s": round(r_base["img_per_s"], 1), "ganlib_img_per_s": round(r_lib["img_per_s"], 1),
                 "speedup": round(r_lib["img_per_s"] / r_base["img_per_s"], 3), "device": str(device),
                 "device_name": device_name, "batch_size": args.batch_size, "steps_timed": steps,
                 "warmup_steps": warmup, "baseline_seconds": round(r_base["seconds"], 3),
                 "ganlib_seconds": round(r_lib["seconds"], 3), "parameters": params,
                 "torch_version": torch.__version__, "cpu_threads": torch.get_num_threads(),
                 "h100_target_speedup": H100_TARGETS[name], "measured_at": started_at, **notes}
        args.compile = compile_mode
        if compile_mode and name != "acgan":  # the ACGAN step's gradient penalty stays eager
            try:  # a failing compile must not lose the eager figures above
                compiled_run = builders[name](args, device)[1]
                r_comp = timed(device, compiled_run, steps, warmup)
            except Exception as error:  # noqa: BLE001 - recorded in the results instead
                entry.update(compile_mode=compile_mode, compile_error=f"{type(error).__name__}: {error}"[:500])
                print(f"{name}: compiled ganlib failed: {entry['compile_error']}", flush=True)
            else:
                entry.update(ganlib_compiled_img_per_s=round(r_comp["img_per_s"], 1), compile_mode=compile_mode)
                print(f"{name}: ganlib compiled ({compile_mode}) {r_comp['img_per_s']:,.0f} img/s", flush=True)
        results["loops"][name] = entry
        if name == "cgan" and args.ttq_cap > 0:
            ttq_sides = built[4]
        del built, baseline, ganlib_run

    if ttq_sides is not None:
        try:
            from ganlib.pretrained import load_pretrained

            evaluator = load_pretrained("mnist_evaluator", device)
        except (FileNotFoundError, ValueError, ImportError) as error:
            results["time_to_quality"] = {"skipped": f"no MNIST evaluator: {error}"}
        else:
            # Fresh models for both sides: time to quality starts from initialisation.
            fresh = cgan_sides(args, device)[4]
            results["time_to_quality"] = {**time_to_quality(args, device, fresh, evaluator),
                                          "device": str(device), "device_name": device_name,
                                          "measured_at": started_at}
    if hasattr(os, "getloadavg"):
        machine["load_average_1_5_15_at_end"] = [round(v, 2) for v in os.getloadavg()]
    machine["note"] = args.note
    results["machine"] = machine
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown_table(results)
    args.out.with_suffix(".md").write_text(table)
    print("\n" + table)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
