"""Training recipes: the settings that decide how fast a GAN learns, as one small value.

The course material trains each GAN with one plain setting. The shipped MNIST models were
trained with a few extra levers, each measured on a 2-core CPU (README, Results). A
:class:`Recipe` holds all of them; :func:`make_gan_from_recipe` turns one into a training
state that :func:`ganlib.train.fit` runs with its default step::

    recipe = IMPROVED_MLP
    gan = make_gan_from_recipe(G, D, recipe, z_dim=64, seed=0)
    fit(gan, TensorBatches(x, y, batch_size=recipe.batch_size, seed=0), num_steps)

Swap ``IMPROVED_MLP`` for ``PLAIN_MLP`` to train the course material's way on the same
networks. ``RECIPES`` lists every named recipe per shipped model (the names
``scripts/train_mnist_checkpoints.py --recipe`` accepts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from torch import nn

from ganlib.train import GAN, make_gan


@dataclass(frozen=True)
class Recipe:
    """The levers of one GAN training setting (frozen: change one with ``dataclasses.replace``).

    The defaults are the plain DCGAN setting: Adam lr 2e-4, betas (0.5, 0.999), batch 128,
    no extras.
    """

    lr: float = 2e-4
    """Adam learning rate of the generator (and of the discriminator unless ``lr_d``)."""

    lr_d: float | None = None
    """A different learning rate for the discriminator (None: ``lr``). A faster
    discriminator (e.g. 4 x ``lr``, the "two time-scale" rule) gives the generator a more
    up-to-date opponent."""

    betas: tuple[float, float] = (0.5, 0.999)
    """Adam's betas. Less momentum (0.5 instead of 0.9) follows the moving target of a
    game better; (0.5, 0.999) is the DCGAN paper's choice."""

    batch_size: int = 128
    """Real images per step. Smaller batches mean more, cheaper updates per second of a
    CPU; larger ones, smoother gradients."""

    real_target: float = 1.0
    """Target of real images in the discriminator's loss; 0.9 is one-sided label smoothing:
    the discriminator never becomes fully sure, so its gradients to the generator stay
    useful. Fakes keep target 0 (smoothing them too would reward the fakes)."""

    ema_decay: float | None = None
    """Keep an exponential moving average of the generator's weights with this decay (e.g.
    0.999) and sample from it: it averages out the generator's oscillation around a good
    solution. None: no average."""

    r1_gamma: float = 0.0
    """Weight of the R1 penalty ``gamma / 2 * E ||grad_x D(x_real)||^2`` on real images:
    keeps the discriminator flat on the data, which damps the oscillations that end in mode
    collapse (the MLP GAN's recall went from 0.03 to 0.79 with gamma 1). 0: off."""

    mismatch_weight: float = 0.0
    """Conditional GANs: weight of an extra discriminator update that shows real images
    with wrong labels as fakes, so that the discriminator checks the class and the
    generator must draw the requested one (class accuracy 82 % -> over 99 %). 0: off."""

    def __post_init__(self) -> None:
        problems = []
        for name in ("lr", "lr_d"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                problems.append(f"{name} must be a positive learning rate (e.g. 2e-4), got {value!r}")
        betas_ok = isinstance(self.betas, (tuple, list)) and len(self.betas) == 2
        if not (betas_ok and all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in self.betas)):
            problems.append(f"betas must be two numbers in [0, 1) (e.g. (0.5, 0.999)), got {self.betas!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size > 0):
            problems.append(f"batch_size must be a positive int, got {self.batch_size!r}")
        if not (isinstance(self.real_target, (int, float)) and 0.0 < self.real_target <= 1.0):
            problems.append(f"real_target must be in (0, 1]: 1.0, or 0.9 for one-sided label smoothing; "
                            f"got {self.real_target!r}")
        if self.ema_decay is not None and not (isinstance(self.ema_decay, (int, float)) and 0 < self.ema_decay < 1):
            problems.append(f"ema_decay must be None or a number in (0, 1) (e.g. 0.999), got {self.ema_decay!r}")
        for name in ("r1_gamma", "mismatch_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                problems.append(f"{name} must be a number >= 0 (0 switches it off), got {value!r}")
        if problems:
            raise ValueError("Bad Recipe: " + "; ".join(problems) + ".")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))  # Adam wants floats


def make_gan_from_recipe(
    G: nn.Module,
    D: nn.Module,
    recipe: Recipe,
    *,
    z_dim: int,
    num_classes: int | None = None,
    seed: int = 0,
    compile: bool | str = False,
) -> GAN:
    """The training state for ``recipe``; :func:`ganlib.train.fit` with its default step trains it.

    :func:`ganlib.train.gan_step` reads the recipe's levers from the returned state, so no
    special step function is needed; only ``recipe.batch_size`` is left to the batches.

    Args:
        G, D: the generator and the discriminator, already on their device.
        recipe: the settings, e.g. :data:`IMPROVED_CGAN`.
        z_dim: noise length the generator expects.
        num_classes: classes of a conditional GAN; None for an unconditional one.
        seed: seed of the noise (and wrong-label) generator.
        compile: as in :func:`ganlib.train.make_gan`.

    Returns:
        A :class:`ganlib.train.GAN`.
    """
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be a ganlib.recipes.Recipe, got {type(recipe).__name__}.")
    return make_gan(G, D, z_dim=z_dim, num_classes=num_classes, lr=recipe.lr, lr_d=recipe.lr_d, betas=recipe.betas,
                    real_target=recipe.real_target, ema_decay=recipe.ema_decay, r1_gamma=recipe.r1_gamma,
                    mismatch_weight=recipe.mismatch_weight, seed=seed, compile=compile)


# --- the course material's settings and the measured improvements, per notebook ------------------
# Values as measured for the shipped weights (ganlib/weights/manifest.json); do not tune
# them here without measuring again.

PLAIN_MLP = Recipe(lr=1e-5, betas=(0.9, 0.999), batch_size=128)
"""Notebook 01, the course material: Adam lr 1e-5 with default betas, batch 128, plain BCE."""

IMPROVED_MLP = Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128, real_target=0.9, ema_decay=0.998, r1_gamma=1.0)
"""Notebook 01, shipped (``mlp_gan_mnist``): 20x the learning rate, DCGAN betas, label
smoothing, an EMA, and R1 (gamma 1), without which this faster recipe collapsed."""

PLAIN_DCGAN = Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128)
"""Notebook 02, the course material: the DCGAN paper's Adam settings, batch 128."""

IMPROVED_DCGAN = Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=64, real_target=0.9, ema_decay=0.998)
"""Notebook 02: batch 64, label smoothing, an EMA. The shipped ``dcgan_mnist`` adds R1 (gamma 1):
``RECIPES["dcgan_mnist"]["r1g1"]``."""

PLAIN_CGAN = Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=128)
"""Notebook 03, the course material: as notebook 02; its loop reaches about 82 % class accuracy."""

IMPROVED_CGAN = Recipe(lr=2e-4, betas=(0.5, 0.999), batch_size=64, real_target=0.9, ema_decay=0.999,
                       mismatch_weight=1.0)
"""Notebook 03, shipped (``cgan_onehot_mnist``, ``cgan_embedding_mnist``): batch 64, label
smoothing, an EMA and the mismatch update (over 99 % class accuracy)."""

# --- recipes for the learner's few-minute runs (notebooks 01-03, ganlib.learner_runs) ----------------
# Probed on an idle 2-core CPU with benchmarks/learner_recipes.py (results in benchmarks/README.md):
# over a few minutes an EMA of decay 0.998-0.999 still remembers the untrained weights (the
# conditional GAN's samples stayed at chance accuracy for 800 steps), so these average over
# about 100 steps (0.99), and a discriminator with 4-5x the generator's learning rate (two
# time scales) gives the generator a better-informed opponent from the first minute.

FAST_MLP = replace(IMPROVED_MLP, lr_d=8e-4, ema_decay=0.99)
"""Notebook 01's default: the shipped recipe with a faster discriminator and a short EMA
(FD 2.6 and recall 0.90 after 3 minutes on 2 cores, 2,000 samples; the shipped recipe: 3.8, 0.83)."""

FAST_DCGAN = replace(IMPROVED_DCGAN, lr=5e-4, lr_d=2e-4, ema_decay=0.99, r1_gamma=1.0)
"""Notebook 02's best *unconditional* recipe, its ``recipe="unconditional"`` (with half-width networks
and a per-image discriminator norm, ``ganlib.learner_runs.LEARNER_RUNS["dcgan_mnist"]``): the
generator learns 2.5x faster than the discriminator, a short EMA, and R1 (gamma 1). With the course's
BatchNorm discriminator every recipe probed sat at FD above 100 for 1,500-2,500 steps; with the
per-image norm the digits come within 1,000 steps (FD 16-18 there, 8.7-10.5 at 2,500 steps, two
seeds), still behind notebook 01's MLP GAN at equal time. Notebook 02's default instead trains
:data:`FAST_CGAN` self-conditioned on k-means groups (:mod:`ganlib.clusters`), which beats it."""

FAST_CGAN = replace(IMPROVED_CGAN, lr=5e-4, lr_d=1e-3, ema_decay=0.99)
"""Notebook 03's default: the shipped recipe at 2.5x / 5x the learning rates with a short EMA
(95.7 % class accuracy after 90 s on 2 cores, 97.9 % after 150 s; the shipped recipe: chance
for 800 steps, 56 % after 170 s). Also notebook 02's default, there on 20 k-means groups of the
images instead of the labels (self-conditioning: FD 1.12 after 3 minutes, the MLP GAN 1.45)."""

RECIPES: dict[str, dict[str, Recipe]] = {
    "mlp_gan_mnist": {
        "baseline": PLAIN_MLP,
        "improved": replace(IMPROVED_MLP, r1_gamma=0.0),  # the first try: it collapsed onto few modes
        "r1g1": IMPROVED_MLP,  # what ships
        "r1g10": replace(IMPROVED_MLP, r1_gamma=10.0),
    },
    # "improved" shipped first (FD 8.4 after 3,600 steps); with R1 it passed the MLP GAN (1.96 after 9,600).
    "dcgan_mnist": {"baseline": PLAIN_DCGAN, "improved": IMPROVED_DCGAN, "r1g1": replace(IMPROVED_DCGAN, r1_gamma=1.0)},
    "cgan_onehot_mnist": {"baseline": PLAIN_CGAN, "improved": IMPROVED_CGAN},
    "cgan_embedding_mnist": {"baseline": PLAIN_CGAN, "improved": IMPROVED_CGAN},
}
"""Every named recipe per shipped model; ``"baseline"`` is the course material's setting."""
