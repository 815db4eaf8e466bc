"""Steps per second of notebook 02's own DCGAN run, float32 against bfloat16 autocast (2 threads).

bfloat16 autocast nearly doubled the CIFAR-10 ACGAN's images per second on this AVX-512 BF16 CPU;
this asks whether it speeds up the small MNIST DCGAN (width 32, per-image discriminator norm, R1)
of notebook 02's ``recipe="unconditional"``, whose 3 minutes would then hold more steps. Each
variant is timed twice, alternating, for ``--seconds`` after five warm-up steps. Run it on an idle machine.

    python benchmarks/dcgan_bf16_speed.py --seconds 15
"""

from __future__ import annotations

import argparse
import time

import torch

from ganlib.data import TensorBatches
from ganlib.data.mnist import load_mnist
from ganlib.learner_runs import LEARNER_RUNS, build_learner_gan
from ganlib.train import gan_step


def bf16_step(gan, x_real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """:func:`ganlib.train.gan_step` with the networks' passes in bfloat16 autocast."""
    with torch.autocast(x_real.device.type, dtype=torch.bfloat16):
        return gan_step(gan, x_real, labels)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, y = load_mnist(train=True, scale="tanh")
    # The run it measured (2026-11-24): notebook 02's improved run then, its "unconditional" recipe now.
    batch_size = LEARNER_RUNS["dcgan_mnist"].recipes["unconditional"].batch_size
    for name, step in (("float32", gan_step), ("bfloat16", bf16_step)) * 2:
        gan = build_learner_gan("dcgan_mnist", "unconditional")
        batches = TensorBatches(x, y, batch_size=batch_size, seed=0)
        for _ in range(5):
            step(gan, *next(batches))
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            step(gan, *next(batches))
            steps += 1
        print(f"{name}: {steps / (time.perf_counter() - start):.1f} steps/s", flush=True)


if __name__ == "__main__":
    main()
