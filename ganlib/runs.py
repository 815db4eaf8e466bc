"""Every training run the course does or ships, each one named, frozen value.

A :class:`Run` says everything that decides what a run learns: its networks (classes and
arguments), its step with the loss and the levers bound to it, the optimizers, the batch size,
the generator's weight average, and the k-means clusters of a self-conditioned run. Notebooks,
scripts, the benchmark and the weights manifest (``"run"``) all point at these names::

    run = replace(COURSE_MLP_GAN, lr=1e-4)        # a notebook's parameters override fields
    gan = run.build(device, seed=0)               # networks, optimizers, EMA, step
    fit(gan, TensorBatches(x, y, batch_size=run.batch_size), num_steps)

``TEXTBOOK_*`` runs use the plain settings of DeepLearning.AI's GANs Specialization; ``COURSE_*`` runs are the ones the
notebooks train by default; the other names list what they add (R1, EMA, the mismatch update).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial

import torch
from torch import nn

from ganlib.acgan_training import ACGAN_BETAS, acgan_step
from ganlib.losses import BCELoss
from ganlib.models import (
    ACGANCritic,
    ACGANGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    EmbeddingConditionalDiscriminator,
    EmbeddingConditionalGenerator,
    MLPDiscriminator,
    MLPGenerator,
    OneHotConditionalDiscriminator,
    OneHotConditionalGenerator,
    init_dcgan_weights,
)
from ganlib.train import GAN, StepFn, gan_step, make_gan
from ganlib.train.state import check_optimizer_settings
from ganlib.utils import seed_everything


@dataclass(frozen=True)
class Networks:
    """A generator and a discriminator class with their constructor arguments.

    Attributes:
        generator, discriminator: the classes, e.g. :class:`ganlib.models.DCGANGenerator`.
        generator_args, discriminator_args: their keyword arguments.
        dcgan_init: draw both networks' weights with :func:`ganlib.models.init_dcgan_weights`.
        scale: the generator's output range and so the data's: ``"tanh"`` ([-1, 1]) or ``"unit"`` ([0, 1]).
    """

    generator: type[nn.Module]
    discriminator: type[nn.Module]
    generator_args: dict = field(default_factory=dict)
    discriminator_args: dict = field(default_factory=dict)
    dcgan_init: bool = False
    scale: str = "tanh"

    def build(self, device: torch.device | str = "cpu", *, seed: int = 0) -> tuple[nn.Module, nn.Module]:
        """Fresh ``(G, D)`` in training mode on ``device``; ``seed`` seeds their initialisation."""
        seed_everything(seed)
        G, D = self.generator(**self.generator_args), self.discriminator(**self.discriminator_args)
        if self.dcgan_init:
            G.apply(init_dcgan_weights)
            D.apply(init_dcgan_weights)
        return G.to(device), D.to(device)


@dataclass(frozen=True)
class Run:
    """One training run (frozen: change a field with ``dataclasses.replace``).

    Attributes:
        networks: what is trained.
        step: the training step ``step(gan, x_real, labels) -> losses``, usually
            ``partial(gan_step, loss=..., r1_gamma=..., mismatch_weight=...)``.
        lr: Adam learning rate of the generator (and of the discriminator unless ``lr_d``).
        lr_d: a different rate for the discriminator (two time-scales), or None.
        betas: Adam's betas; (0.5, 0.999) is the DCGAN paper's choice.
        batch_size: real images per step.
        ema_decay: sample from a moving average of the generator's weights (e.g. 0.999), or None.
        clusters: self-conditioning: train on this many k-means clusters of the images instead of
            labels (:mod:`ganlib.clusters`); the networks then take ``num_classes=clusters``.
        minutes: the default length of a notebook's run (training seconds / 60), or None.
    """

    networks: Networks
    step: StepFn = gan_step
    lr: float = 2e-4
    lr_d: float | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 128
    ema_decay: float | None = None
    clusters: int | None = None
    minutes: float | None = None

    def __post_init__(self) -> None:
        problems = check_optimizer_settings(self.lr, self.lr_d, self.betas, self.ema_decay)
        if not (isinstance(self.batch_size, int) and self.batch_size > 0):
            problems.append(f"batch_size must be a positive int, got {self.batch_size!r}")
        keywords = getattr(self.step, "keywords", {})
        for name in ("r1_gamma", "mismatch_weight"):
            value = keywords.get(name, 0.0)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a number >= 0 (0 switches it off), got {value!r}")
        if keywords.get("mismatch_weight") and self.num_classes is None:
            problems.append("mismatch_weight needs a conditional GAN (networks with num_classes): it shows "
                            "the discriminator real images with wrong labels")
        if self.clusters is not None and self.num_classes != self.clusters:
            problems.append(f"clusters={self.clusters!r} needs conditional networks with as many classes, "
                            f"got num_classes={self.num_classes!r}")
        if problems:
            raise ValueError("Bad Run: " + "; ".join(problems) + ".")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))  # Adam wants floats

    @property
    def num_classes(self) -> int | None:
        """Classes (or clusters) the networks are conditioned on; None for an unconditional GAN."""
        args = self.networks
        return args.generator_args.get("num_classes", args.discriminator_args.get("num_classes"))

    def train_state(self, G: nn.Module, D: nn.Module, *, seed: int = 0) -> GAN:
        """Wrap networks already built (and on their device) with this run's optimizers, EMA and step."""
        return make_gan(G, D, z_dim=G.z_dim, num_classes=self.num_classes, lr=self.lr, lr_d=self.lr_d,
                        betas=self.betas, ema_decay=self.ema_decay, seed=seed, train_step=self.step)

    def build(self, device: torch.device | str = "cpu", *, seed: int = 0) -> GAN:
        """The run's training state at step 0: fresh networks (seeded by ``seed``) on ``device``."""
        G, D = self.networks.build(device, seed=seed)
        return self.train_state(G, D, seed=seed)


def _conditional(generator: type[nn.Module], discriminator: type[nn.Module], num_classes: int) -> Networks:
    """Notebook 03's conditional DCGAN pair (``hidden_dim`` 64) with ``num_classes`` classes."""
    args = {"num_classes": num_classes, "image_channels": 1, "hidden_dim": 64}
    return Networks(generator, discriminator, {"z_dim": 64} | args, args, dcgan_init=True)


MLP_NETWORKS = Networks(MLPGenerator, MLPDiscriminator, {"z_dim": 64}, scale="unit")
DCGAN_NETWORKS = Networks(DCGANGenerator, DCGANDiscriminator, {"z_dim": 64, "image_channels": 1, "hidden_dim": 64},
                          {"image_channels": 1, "hidden_dim": 64}, dcgan_init=True)
# Half the width (twice the steps per minute) and a discriminator that scores each image on its
# own: with BatchNorm's, short unconditional runs stall for 1,500-2,500 steps (benchmarks/README.md).
DCGAN_PER_IMAGE_NETWORKS = Networks(DCGANGenerator, DCGANDiscriminator,
                                    {"z_dim": 64, "image_channels": 1, "hidden_dim": 32},
                                    {"image_channels": 1, "hidden_dim": 32, "norm": "image"}, dcgan_init=True)
CGAN_ONEHOT_NETWORKS = _conditional(OneHotConditionalGenerator, OneHotConditionalDiscriminator, 10)
CGAN_EMBEDDING_NETWORKS = _conditional(EmbeddingConditionalGenerator, EmbeddingConditionalDiscriminator, 10)

SMOOTHED = BCELoss(real_target=0.9)  # one-sided label smoothing

# --- notebook 01: the MLP GAN ------------------------------------------------------------------
TEXTBOOK_MLP_GAN = Run(MLP_NETWORKS, gan_step, lr=1e-5, betas=(0.9, 0.999), batch_size=128, minutes=3.0)
"""DeepLearning.AI's settings: Adam lr 1e-5 with default betas, plain BCE (ships ``mlp_gan_mnist_plain``)."""

MLP_GAN_R1_EMA = Run(MLP_NETWORKS, partial(gan_step, loss=SMOOTHED, r1_gamma=1.0), lr=2e-4, batch_size=128,
                     ema_decay=0.998)
"""Ships as ``mlp_gan_mnist``: 20x the rate, DCGAN betas, label smoothing, an EMA and R1 (gamma 1),
without which this faster setting collapsed onto a few digits."""

COURSE_MLP_GAN = replace(MLP_GAN_R1_EMA, lr_d=8e-4, ema_decay=0.99, minutes=3.0)
"""Notebook 01's run: as :data:`MLP_GAN_R1_EMA` with a 4x faster discriminator and an EMA short
enough for 3 minutes (FD 1.5-2.1, recall about 0.9 after 3 minutes on a 2-core CPU, 2,000 samples)."""

# --- notebook 02: the DCGAN --------------------------------------------------------------------
TEXTBOOK_DCGAN = Run(DCGAN_NETWORKS, gan_step, lr=2e-4, batch_size=128, minutes=3.0)
"""DeepLearning.AI's settings: the DCGAN paper's Adam and BatchNorm (ships ``dcgan_mnist_plain``)."""

DCGAN_R1_EMA = Run(DCGAN_NETWORKS, partial(gan_step, loss=SMOOTHED, r1_gamma=1.0), lr=2e-4, batch_size=64,
                   ema_decay=0.998)
"""Ships as ``dcgan_mnist``: batch 64, label smoothing, an EMA and R1 (gamma 1)."""

COURSE_DCGAN = Run(DCGAN_PER_IMAGE_NETWORKS, partial(gan_step, loss=SMOOTHED, r1_gamma=0.1), lr=5e-4, lr_d=2e-4,
                   batch_size=64, ema_decay=0.99, minutes=2.5)
"""Notebook 02's run, an unconditional DCGAN: half-width networks, a per-image discriminator norm,
a generator 2.5x faster than the discriminator, a short EMA and a light R1 (gamma 0.1: FD 6.2 and
recall 0.82 after 3,000 steps; gamma 1 was 3-5 FD points behind); 2.5 minutes on 2 cores."""

SELF_CONDITIONED_DCGAN = Run(_conditional(OneHotConditionalGenerator, OneHotConditionalDiscriminator, 20),
                             partial(gan_step, loss=SMOOTHED, mismatch_weight=1.0), lr=5e-4, lr_d=1e-3,
                             batch_size=64, ema_decay=0.99, clusters=20, minutes=3.0)
"""Notebook 03's optional closing section, a conditional GAN without labels: notebook 03's
conditional run on 20 k-means clusters of the images instead of labels (FD 1.12 after 3 minutes;
:mod:`ganlib.clusters`)."""

# --- notebook 03: the conditional GAN ----------------------------------------------------------
TEXTBOOK_CGAN = Run(CGAN_ONEHOT_NETWORKS, gan_step, lr=2e-4, batch_size=128, minutes=3.0)
"""DeepLearning.AI's settings on the one-hot pair (about 82 % class accuracy; ships
``cgan_onehot_mnist_plain``)."""

CGAN_ONEHOT_MISMATCH_EMA = Run(CGAN_ONEHOT_NETWORKS, partial(gan_step, loss=SMOOTHED, mismatch_weight=1.0),
                               lr=2e-4, batch_size=64, ema_decay=0.999)
"""Ships as ``cgan_onehot_mnist``: label smoothing, an EMA and the mismatch update (over 99 % class accuracy)."""

CGAN_EMBEDDING_MISMATCH_EMA = replace(CGAN_ONEHOT_MISMATCH_EMA, networks=CGAN_EMBEDDING_NETWORKS)
"""Ships as ``cgan_embedding_mnist``: as the one-hot run, on the label-embedding pair."""

COURSE_CGAN = replace(CGAN_ONEHOT_MISMATCH_EMA, lr=5e-4, lr_d=1e-3, ema_decay=0.99, minutes=3.0)
"""Notebook 03's run: the shipped setting at 2.5x / 5x the rates with a short EMA (95.7 % class
accuracy after 90 s on 2 cores)."""

COURSE_CGAN_EMBEDDING = replace(COURSE_CGAN, networks=CGAN_EMBEDDING_NETWORKS, minutes=1.0)
"""Notebook 03's label-embedding variant, trained with the same settings."""

# --- notebook 05: what it trains when a shipped generator is missing ---------------------------
CGAN_ONEHOT_EMA = Run(CGAN_ONEHOT_NETWORKS, gan_step, lr=2e-4, batch_size=128, ema_decay=0.99)
"""Notebook 05's stand-in for ``cgan_onehot_mnist``: the textbook conditional run with a short EMA."""

# --- notebook 04: ACGAN with the WGAN-GP loss on CIFAR-10 ---------------------------------------


def acgan_networks(width: int) -> Networks:
    """An ACGAN generator and critic of ``width`` channels (the course's model: 196)."""
    return Networks(ACGANGenerator, ACGANCritic, {"z_dim": 128, "width": width}, {"num_classes": 10, "width": width})


# Both CPU runs: mirrored real images, a lazy gradient penalty (every 4th critic step, weighted
# by 4), and the critic's class head trained on real images only (with the course's fake class
# term the learner's run reached 22 % class accuracy, without it 36-42 %).
ACGAN_CPU_STEP = partial(acgan_step, flip=True, gp_every=4, d_fake_class_weight=0.0)

ACGAN_WGAN_GP_CPU = Run(acgan_networks(64), ACGAN_CPU_STEP, lr=3e-4, betas=ACGAN_BETAS, batch_size=64,
                        ema_decay=0.999)
"""The shipped CIFAR-10 generators' run (``maintainer/train_acgan_cifar10.py``). With
``--mode-seeking 1`` (MSGAN's term) and the rate falling linearly to 0 over the last 70 % of
5 CPU-hours it ships as ``acgan_cifar10``; without the term, as ``acgan_cifar10_no_mode_seeking``
(the best snapshot of a run that later collapsed)."""

COURSE_ACGAN = Run(acgan_networks(32), partial(ACGAN_CPU_STEP, mode_seeking=1.0), lr=3e-4, betas=ACGAN_BETAS,
                   batch_size=64, ema_decay=0.99, minutes=5.0)
"""Notebook 04's own run: width 32, a short EMA and MSGAN's mode-seeking term (weight 1) for 5 minutes
on 2 cores (``benchmarks/acgan_variety_levers.py``: at 2,000 steps it lifted recall from about 0 to
0.15 and FD from 66 to 49)."""

ACGAN_LAZY_GP_WIDTH64 = Run(acgan_networks(64), partial(acgan_step, flip=True, gp_every=4), lr=1e-4,
                            betas=ACGAN_BETAS, batch_size=64)
"""Notebook 05's stand-in for ``acgan_cifar10``: the course's loss and rate at width 64, mirrored
images and the lazy penalty, no EMA."""

RUNS: dict[str, Run] = {name: value for name, value in globals().items() if isinstance(value, Run)}
"""Every run above by its name."""
