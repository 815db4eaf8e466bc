"""Side-by-side speed of ganlib's training path and a course-style loop, on one machine, in one run.

For each GAN (MLP on MNIST, one-hot conditional DCGAN on MNIST, ACGAN + WGAN-GP on
CIFAR-10) it times, at the same batch size and after a warm-up,

- baseline: ``benchmarks/baseline_loops.py`` (DataLoader + CPU transforms, eager steps,
  a ``.item()`` per step, plain Adam), and
- ganlib: ``TensorBatches`` on the device + ``ganlib.train.fit`` with the library's steps
  (fused Adam on CUDA, no per-step sync),

with the same architectures (parameter counts are checked), losses and optimizer settings.

With ``--ttq-cap S`` it also measures time to quality: training seconds (evaluation not
counted) until (a) the MNIST evaluator recognises 95 % of the conditional DCGAN's samples
as the class they were drawn for (``cgan_acc95``) and (b) the MLP GAN's Frechet distance
drops to 10 (``mlp_fd10``), for the course loop with the course material's textbook run
and for ganlib with the notebook's own run (``ganlib.runs``), each side capped at S
seconds. Results go to ``--out`` (JSON) and a markdown table next to it (``.md``), which is
also printed; ``benchmarks/plot_time_to_quality.py`` draws the curves.

    python benchmarks/bench.py                       # all loops on the default device
    python benchmarks/bench.py --device cuda --ttq-cap 600
    python benchmarks/bench.py --ttq-only --ttq-cap 600   # time to quality only
    python benchmarks/bench.py --only mlp --steps 50 --warmup 5
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
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

from ganlib.checkpoints import write_json_atomic
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
from ganlib.runs import COURSE_CGAN, COURSE_MLP_GAN, TEXTBOOK_CGAN, TEXTBOOK_MLP_GAN, Run
from ganlib.sampling import recalibrate_batchnorm, sample
from ganlib.train import GAN, fit, make_gan
from ganlib.train.resume import step_settings
from ganlib.utils import count_parameters, get_device, seed_everything

LOOPS = ("mlp", "cgan", "acgan")
TITLES = {"mlp": "MLP GAN, MNIST", "cgan": "conditional DCGAN (one-hot), MNIST",
          "acgan": "ACGAN + WGAN-GP, CIFAR-10"}
H100_TARGETS = {"mlp": 10.0, "cgan": 5.0, "acgan": 1.3}  # wanted ganlib / baseline speed-up on an H100
# (steps, warm-up) when not given: a CPU needs seconds per ACGAN step, a GPU milliseconds.
DEFAULT_STEPS = {"cpu": {"mlp": (100, 10), "cgan": (20, 3), "acgan": (3, 1)},
                 "gpu": {"mlp": (1000, 100), "cgan": (1000, 100), "acgan": (200, 20)}}
Z_DIM, NUM_CLASSES, LR, BETAS = 64, 10, 2e-4, (0.5, 0.999)
# Time-to-quality tasks: (title, metric, target, whether higher is better).
TTQ_TASKS = {"cgan_acc95": ("conditional DCGAN (one-hot): class accuracy >= 95 %", "class_accuracy", 0.95, True),
             "mlp_fd10": ("MLP GAN: Frechet distance <= 10", "fd", 10.0, False)}
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
    gan = compiled(make_gan(MLPGenerator(Z_DIM).to(device), MLPDiscriminator().to(device), z_dim=Z_DIM,
                            lr=LR, betas=BETAS, seed=args.seed), args.compile)
    params = (check_same_size(gan.G, gen, "MLP generator")
              + check_same_size(gan.D, disc, "MLP discriminator"))
    return baseline, ganlib_runner(gan, TensorBatches(x, y, batch_size=args.batch_size, seed=args.seed)), params, {
        "baseline_data": f"DataLoader(torchvision MNIST, ToTensor, shuffle, num_workers={args.workers})",
        "ganlib_data": "TensorBatches over load_mnist(scale='unit') on the device"}


def compiled(gan: GAN, mode: str | None) -> GAN:
    """``gan`` training through ``torch.compile``'d networks (they share its weights), or as it is for None."""
    if mode:
        gan.G, gan.D = (torch.compile(net, mode=None if mode == "default" else mode) for net in (gan.G, gan.D))
    return gan


def run_settings(run: Run) -> dict:
    """A run's optimizer and step settings as plain values, for the results file."""
    return {"lr": run.lr, "lr_d": run.lr_d, "betas": list(run.betas), "batch_size": run.batch_size,
            "ema_decay": run.ema_decay, **step_settings(run.step)}


def cgan_sides(args, device):
    seed_everything(args.seed)
    gen, disc = base.CondGenerator(Z_DIM + NUM_CLASSES).to(device), base.CondDiscriminator(1 + NUM_CLASSES).to(device)
    gen.apply(base.weights_init)
    disc.apply(base.weights_init)
    gen_opt = torch.optim.Adam(gen.parameters(), lr=LR, betas=BETAS)
    disc_opt = torch.optim.Adam(disc.parameters(), lr=LR, betas=BETAS)
    loader = base.mnist_loader(str(args.data_root), args.batch_size, normalize=True, workers=args.workers)

    def baseline(n: int) -> int:
        return base.train_cond_gan(gen, disc, gen_opt, disc_opt, loader, Z_DIM, NUM_CLASSES, device, n)

    x, y = load_mnist(args.data_root, scale="tanh", download=False, device=device)
    G = OneHotConditionalGenerator(Z_DIM, NUM_CLASSES).to(device)
    D = OneHotConditionalDiscriminator(NUM_CLASSES).to(device)
    G.apply(init_dcgan_weights)
    D.apply(init_dcgan_weights)
    gan = compiled(make_gan(G, D, z_dim=Z_DIM, num_classes=NUM_CLASSES, lr=LR, betas=BETAS, seed=args.seed),
                   args.compile)
    params = check_same_size(G, gen, "conditional generator") + check_same_size(D, disc, "conditional discriminator")
    batches = TensorBatches(x, y, batch_size=args.batch_size, seed=args.seed)
    return baseline, ganlib_runner(gan, batches), params, {
        "baseline_data": f"DataLoader(torchvision MNIST, ToTensor + Normalize, shuffle, num_workers={args.workers})",
        "ganlib_data": "TensorBatches over load_mnist(scale='tanh') on the device"}


def acgan_sides(args, device):
    from ganlib.acgan_training import acgan_step, make_acgan
    from ganlib.data.cifar10 import load_cifar10_uint8

    images, labels = load_cifar10_uint8(args.data_root, train=args.cifar_split == "train", download=False,
                                        limit=args.limit)
    seed_everything(args.seed)
    np.random.seed(args.seed)
    aG, aD = base.GeneratorNet(ACGAN_Z_DIM).to(device), base.CriticNet().to(device)
    optimizer_g = torch.optim.Adam(aG.parameters(), lr=ACGAN_LR, betas=ACGAN_BETAS)
    optimizer_d = torch.optim.Adam(aD.parameters(), lr=ACGAN_LR, betas=ACGAN_BETAS)
    if args.cifar_baseline == "folder":
        loader = base.cifar_folder_loader(str(Path(args.data_root) / "cifar10" / args.cifar_split), args.batch_size,
                                          workers=args.cifar_workers)
        data_note = f"ImageFolder over the cifar10/{args.cifar_split} JPEG tree (decoded per image)"
    else:
        loader = base.DataLoader(InMemoryCIFAR(images, labels), batch_size=args.batch_size, shuffle=True,
                                 num_workers=args.cifar_workers, persistent_workers=args.cifar_workers > 0)
        data_note = (f"decoded uint8 cifar10/{args.cifar_split} images in memory, PIL per image like "
                     "torchvision's CIFAR10")
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


BUILDERS = {"mlp": mlp_sides, "cgan": cgan_sides, "acgan": acgan_sides}
"""Each loop's builder: ``(args, device) -> (baseline run, ganlib run, parameters, notes)``."""


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
# Each side trains from scratch and, every --ttq-every steps, looks at its training clock (after a device
# sync); it scores its samples whenever its training time has grown by --ttq-growth since the last score,
# and at the cap. The clock stops while it scores: evaluation is not training time.


class CourseConditional(torch.nn.Module):
    """The course loop's conditional generator behind ganlib's ``G(z, labels)`` call (for scoring)."""

    def __init__(self, gen: torch.nn.Module) -> None:
        super().__init__()
        self.gen = gen

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.gen(base.combine_vectors(z, base.get_one_hot_labels(labels, NUM_CLASSES)))


class CourseMLP(torch.nn.Module):
    """The course loop's MLP generator, its flat outputs shaped as images ``(n, 1, 28, 28)``."""

    def __init__(self, gen: torch.nn.Module) -> None:
        super().__init__()
        self.gen = gen

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.gen(z).view(-1, 1, 28, 28)


@dataclasses.dataclass
class Side:
    """One side of a time-to-quality race: how it trains, and the generator it is scored with."""

    run: Run
    loop: str
    train: Callable[[Callable[[int], bool]], None]  # train(check): call check(steps) every --ttq-every steps
    sampler: Callable[[], torch.nn.Module]  # the generator to score now, in eval mode


def ttq_sides(task: str, args, device) -> dict[str, Side]:
    """Fresh networks for both sides of ``task``: the course loop with the course material's textbook
    run, and ganlib with the notebook's own run, on the same architectures."""
    conditional = task == "cgan_acc95"
    plain = TEXTBOOK_CGAN if conditional else TEXTBOOK_MLP_GAN
    improved = COURSE_CGAN if conditional else COURSE_MLP_GAN  # the notebooks' own few-minute runs
    num_classes = NUM_CLASSES if conditional else None
    every = args.ttq_every

    seed_everything(args.seed)
    if conditional:
        gen = base.CondGenerator(Z_DIM + NUM_CLASSES).to(device)
        disc = base.CondDiscriminator(1 + NUM_CLASSES).to(device)
        gen.apply(base.weights_init)
        disc.apply(base.weights_init)
        course_loop, course_sampler = base.train_cond_gan, CourseConditional(gen)
    else:
        gen, disc = base.Generator(Z_DIM).to(device), base.Discriminator().to(device)
        course_loop, course_sampler = base.train_mlp_gan, CourseMLP(gen)
    gen_opt = torch.optim.Adam(gen.parameters(), lr=plain.lr, betas=plain.betas)
    disc_opt = torch.optim.Adam(disc.parameters(), lr=plain.lr_d or plain.lr, betas=plain.betas)
    loader = base.mnist_loader(str(args.data_root), plain.batch_size, normalize=conditional, workers=args.workers)
    extra = (NUM_CLASSES,) if conditional else ()

    def train_baseline(check: Callable[[int], bool]) -> None:
        course_loop(gen, disc, gen_opt, disc_opt, loader, Z_DIM, *extra, device, 10**12,
                    hook=lambda step: step % every == 0 and check(step))

    seed_everything(args.seed)
    if conditional:
        G = OneHotConditionalGenerator(Z_DIM, NUM_CLASSES).to(device)
        D = OneHotConditionalDiscriminator(NUM_CLASSES).to(device)
        G.apply(init_dcgan_weights)  # as the run's networks are initialised
        D.apply(init_dcgan_weights)
    else:
        G, D = MLPGenerator(Z_DIM).to(device), MLPDiscriminator().to(device)
    check_same_size(G, gen, f"{task} generator")
    check_same_size(D, disc, f"{task} discriminator")
    gan = improved.train_state(G, D, seed=args.seed)
    x, y = load_mnist(args.data_root, scale="tanh" if conditional else "unit", download=False, device=device)
    batches = TensorBatches(x, y, batch_size=improved.batch_size, seed=args.seed)

    def train_ganlib(check: Callable[[int], bool]) -> None:
        fit(gan, batches, 10**12, log_every=every, on_log=lambda g: check(g.step), progress=False)  # True stops

    def ganlib_sampler() -> torch.nn.Module:
        if gan.ema is None:
            return gan.G
        # the weight average with BatchNorm statistics recomputed on fresh noise, as the shipped weights
        return recalibrate_batchnorm(copy.deepcopy(gan.ema.module), Z_DIM, num_classes,
                                     num_batches=args.ttq_bn_batches, seed=args.seed)

    return {"baseline": Side(plain, f"benchmarks/baseline_loops.py {course_loop.__name__}", train_baseline,
                             lambda: course_sampler),
            "ganlib": Side(improved, "ganlib.train.fit + the run's step (ganlib.runs)", train_ganlib, ganlib_sampler)}


def ttq_scorer(task: str, args, evaluator, data_root) -> Callable[[torch.nn.Module], float]:
    """``score(G)``: the task's metric of ``G``'s samples from fixed noise, as the notebooks compute it."""
    from ganlib.metrics import class_accuracy, features, frechet_distance

    n = args.ttq_samples
    z = torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(args.seed + 1))
    if task == "cgan_acc95":
        labels = torch.arange(n) % NUM_CLASSES  # every class equally often

        def score(G: torch.nn.Module) -> float:
            return class_accuracy(evaluator, sample(G, z, labels), labels, scale="tanh")
    else:
        x_test, _ = load_mnist(data_root, train=False, scale="unit", download=False)
        real = features(evaluator, x_test)  # the test set, as notebook 01 scores against it

        def score(G: torch.nn.Module) -> float:
            return frechet_distance(real, features(evaluator, sample(G, z), scale="unit"))
    return score


def race(side: Side, score: Callable[[torch.nn.Module], float], target: float, higher_is_better: bool,
         args, device, label: str) -> dict:
    """Train one side until its metric meets ``target`` or its training time reaches the cap."""
    cap = args.ttq_cap
    clock = {"train_s": 0.0, "since": 0.0, "next_eval": 0.0, "eval_s": 0.0}
    curve, curve_steps, reached_at = [], [], None

    def check(step: int) -> bool:
        sync(device)
        clock["train_s"] += time.perf_counter() - clock["since"]
        out_of_time = clock["train_s"] >= cap
        if clock["train_s"] >= clock["next_eval"] or out_of_time:
            eval_started = time.perf_counter()
            value = score(side.sampler())
            clock["eval_s"] += time.perf_counter() - eval_started
            curve.append([round(clock["train_s"], 3), round(value, 5)])
            curve_steps.append(step)
            print(f"  time to quality, {label}: step {step}, {clock['train_s']:.1f} s, {value:.4f}", flush=True)
            clock["next_eval"] = clock["train_s"] * (1 + args.ttq_growth)
            if (value >= target) if higher_is_better else (value <= target):
                nonlocal reached_at
                reached_at = len(curve) - 1
                return True
        sync(device)
        clock["since"] = time.perf_counter()  # the clock restarts after scoring
        return out_of_time

    sync(device)
    clock["since"] = time.perf_counter()
    side.train(check)
    best = (max if higher_is_better else min)((v for _, v in curve), default=None)
    return {"reached": reached_at is not None,
            "seconds": curve[reached_at][0] if reached_at is not None else None,
            "steps_to_target": curve_steps[reached_at] if reached_at is not None else None,
            "trained_s": round(clock["train_s"], 3), "steps": curve_steps[-1] if curve_steps else 0,
            "best": best, "eval_s": round(clock["eval_s"], 1),
            "recipe": run_settings(side.run), "loop": side.loop,
            "curve": curve, "curve_steps": curve_steps}


def time_to_quality(task: str, args, device, evaluator) -> dict:
    """Both sides of one task, one after the other on this device: seconds to target and their curves."""
    title, metric, target, higher_is_better = TTQ_TASKS[task]
    score = ttq_scorer(task, args, evaluator, args.data_root)
    out = {"baseline_s": None, "ganlib_s": None, "cap_s": args.ttq_cap, "device": str(device),
           "title": title, "metric": metric, "target": target, "higher_is_better": higher_is_better,
           "eval_samples": args.ttq_samples, "check_every_steps": args.ttq_every, "eval_growth": args.ttq_growth,
           "sampling": "fixed noise, generator in eval mode; the baseline's own BatchNorm running statistics; "
                       "ganlib's EMA generator with its BatchNorm statistics recomputed on fresh noise "
                       "(ganlib.sampling.recalibrate_batchnorm), as the shipped weights"}
    for name, side in ttq_sides(task, args, device).items():
        out[name] = race(side, score, target, higher_is_better, args, device, f"{task} {name}")
        out[f"{name}_s"] = out[name]["seconds"]
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
    lines = ["| loop | device | batch | steps timed | baseline img/s | ganlib img/s | speed-up | GPU goal |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in LOOPS:
        r = results.get("loops", {}).get(name)
        if r is None:
            continue
        compiled = (f" (compiled: {r['ganlib_compiled_img_per_s']:,.0f})" if r.get("ganlib_compiled_img_per_s") else "")
        lines.append(f"| {TITLES[name]} | {r['device_name']} | {r['batch_size']} | {r['steps_timed']} | "
                     f"{r['baseline_img_per_s']:,.0f} | {r['ganlib_img_per_s']:,.0f}{compiled} | "
                     f"{r['speedup']:.2f}x | {H100_TARGETS[name]:g}x |")
    if len(lines) == 2:  # no speed loop measured (--ttq-only on a fresh results file)
        lines = []
    ttq = results.get("time_to_quality") or {}
    tasks = [task for task in TTQ_TASKS if isinstance(ttq.get(task), dict)]
    if tasks:
        lines += [""] if lines else []
        lines += ["Time to quality: training seconds until the target (evaluation not counted); the course loop "
                  "with the course material's textbook run against ganlib with the notebook's own run (`ganlib.runs`), "
                  "each side capped:", "",
                  "| target | device | cap | baseline (course loop) | ganlib (notebook's run) |",
                  "| --- | --- | --- | --- | --- |"]
        for task in tasks:
            entry = ttq[task]
            cells = []
            for side in ("baseline", "ganlib"):
                detail = entry.get(side) or {}
                if entry.get(f"{side}_s") is not None:
                    cells.append(f"{entry[f'{side}_s']:.1f} s ({detail.get('steps_to_target')} steps)")
                elif detail:
                    best = detail.get("best")
                    cells.append(f"not reached (best {best:.4g})" if best is not None else "not reached")
                else:
                    cells.append(entry.get("skipped", "-"))
            lines.append(f"| {entry.get('title', task)} | {entry.get('device_name', entry.get('device', '?'))} | "
                         f"{entry.get('cap_s', 0):g} s | {cells[0]} | {cells[1]} |")
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
    p.add_argument("--cifar-split", choices=("train", "test"), default="train",
                   help="CIFAR-10 images the ACGAN loops train on (speed only: test's 10,000 travel lighter)")
    p.add_argument("--cifar-baseline", choices=("memory", "folder"), default="memory",
                   help="baseline data: decoded images in memory (like torchvision's CIFAR10) or the JPEG tree")
    p.add_argument("--compile", default=None, nargs="?", const="default",
                   help="also time ganlib through torch.compile(MODE) networks, e.g. default or reduce-overhead")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--ttq-cap", type=float, default=0.0,
                   help="time to quality: training-seconds cap per side (0: skip time to quality)")
    p.add_argument("--ttq-only", action="store_true", help="skip the speed loops: time to quality only")
    p.add_argument("--ttq-tasks", default=",".join(TTQ_TASKS), help=f"comma-separated subset of {', '.join(TTQ_TASKS)}")
    p.add_argument("--ttq-every", type=int, default=50, help="steps between looks at the training clock")
    p.add_argument("--ttq-growth", type=float, default=0.1,
                   help="score again once training time has grown by this fraction since the last score")
    p.add_argument("--ttq-samples", type=int, default=2000, help="generated images per score (notebooks: 2000)")
    p.add_argument("--ttq-bn-batches", type=int, default=40,
                   help="noise batches of 256 for recomputing the EMA generator's BatchNorm statistics")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text stored with the results (e.g. machine load)")
    args = p.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(LOOPS))
    if unknown:
        p.error(f"unknown loop(s) {unknown}; choose from {', '.join(LOOPS)}")
    args.ttq_tasks = [task.strip() for task in args.ttq_tasks.split(",") if task.strip()]
    unknown = sorted(set(args.ttq_tasks) - set(TTQ_TASKS))
    if unknown:
        p.error(f"unknown time-to-quality task(s) {unknown}; choose from {', '.join(TTQ_TASKS)}")
    if args.ttq_only and not args.ttq_cap > 0:
        p.error("--ttq-only needs --ttq-cap SECONDS (> 0)")
    if args.ttq_only:
        args.only = []
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

    for name in args.only:
        steps, warmup = DEFAULT_STEPS[kind][name]
        steps, warmup = args.steps or steps, args.warmup if args.warmup is not None else warmup
        compile_mode, args.compile = args.compile, None  # time the eager ganlib path first
        built = BUILDERS[name](args, device)
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
                compiled_run = BUILDERS[name](args, device)[1]
                r_comp = timed(device, compiled_run, steps, warmup)
            except Exception as error:  # noqa: BLE001 - recorded in the results instead
                entry.update(compile_mode=compile_mode, compile_error=f"{type(error).__name__}: {error}"[:500])
                print(f"{name}: compiled ganlib failed: {entry['compile_error']}", flush=True)
            else:
                entry.update(ganlib_compiled_img_per_s=round(r_comp["img_per_s"], 1), compile_mode=compile_mode)
                print(f"{name}: ganlib compiled ({compile_mode}) {r_comp['img_per_s']:,.0f} img/s", flush=True)
        results["loops"][name] = entry
        save(results, args, machine, started_at)
        del built, baseline, ganlib_run

    if args.ttq_cap > 0:
        old = results.get("time_to_quality") or {}
        results["time_to_quality"] = ttq = {task: old[task] for task in TTQ_TASKS if task in old}
        try:
            from ganlib.pretrained import load_pretrained

            evaluator = load_pretrained("mnist_evaluator", device)
        except (FileNotFoundError, ValueError, ImportError) as error:
            evaluator, skipped = None, f"no MNIST evaluator: {error}"
        for task in args.ttq_tasks:
            print(f"time to quality: {TTQ_TASKS[task][0]} (cap {args.ttq_cap:g} s a side)", flush=True)
            if evaluator is None:
                entry = {"baseline_s": None, "ganlib_s": None, "cap_s": args.ttq_cap, "device": str(device),
                         "skipped": skipped}
            else:
                entry = time_to_quality(task, args, device, evaluator)
            ttq[task] = {**entry, "device_name": device_name, "measured_at": started_at,
                         "torch_version": torch.__version__, "cpu_threads": torch.get_num_threads()}
            save(results, args, machine, started_at)
    table = save(results, args, machine, started_at)
    print("\n" + table)
    return results


def save(results: dict, args: argparse.Namespace, machine: dict, started_at: str) -> str:
    """Write the results so far to ``--out`` and its markdown table beside it; returns the table.

    Called after every loop and task, so that a run stopped at a time limit keeps what it measured.
    """
    if hasattr(os, "getloadavg"):
        machine["load_average_1_5_15_at_end"] = [round(v, 2) for v in os.getloadavg()]
    machine["note"] = args.note
    if args.only:  # the machine block describes the speed loops; --ttq-only leaves it as it was
        results["machine"] = machine
    for entry in results.get("time_to_quality", {}).values():
        if entry.get("measured_at") == started_at:  # measured by this run
            entry["machine"] = machine
    write_json_atomic(args.out, results, indent=2)
    table = markdown_table(results)
    args.out.with_suffix(".md").write_text(table)
    return table


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
