"""The learner's own training runs in notebooks 01-03: which networks, which recipes, how long.

Each notebook trains its GAN for a few minutes of CPU time (``minutes``) with an improved
recipe and compares it with the course material's plain recipe trained for the same time.
This module is the one place that says what those runs are, so that the notebooks, the
script that records them (``scripts/record_learner_runs.py``), the training script of the
shipped weights and the tests agree::

    G, D = build_networks("mlp_gan_mnist", device)
    gan = make_gan_from_recipe(G, D, LEARNER_RUNS["mlp_gan_mnist"].recipes["improved"], z_dim=64)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ganlib.clusters import Clustering, ClusterSampler, cluster_images
from ganlib.metrics import evaluate_generator
from ganlib.models import (
    DCGANDiscriminator,
    EmbeddingConditionalDiscriminator,
    MLPDiscriminator,
    OneHotConditionalDiscriminator,
    init_dcgan_weights,
)
from ganlib.pretrained import build_model, pretrained_info
from ganlib.recipes import (
    FAST_CGAN,
    FAST_DCGAN,
    FAST_MLP,
    PLAIN_CGAN,
    PLAIN_DCGAN,
    PLAIN_MLP,
    Recipe,
    make_gan_from_recipe,
)
from ganlib.train import GAN
from ganlib.utils import seed_everything

# The discriminator each shipped MNIST generator trains against (the generator itself comes
# from the registry, ganlib/weights/manifest.json), and whether both get DCGAN's N(0, 0.02) init.
DISCRIMINATORS: dict[str, tuple[type[nn.Module], dict, bool]] = {
    "mlp_gan_mnist": (MLPDiscriminator, {}, False),
    "dcgan_mnist": (DCGANDiscriminator, {"image_channels": 1, "hidden_dim": 64}, True),
    "cgan_onehot_mnist": (OneHotConditionalDiscriminator, {"num_classes": 10, "image_channels": 1, "hidden_dim": 64},
                          True),
    "cgan_embedding_mnist": (EmbeddingConditionalDiscriminator,
                             {"num_classes": 10, "image_channels": 1, "hidden_dim": 64}, True),
}


@dataclass(frozen=True)
class LearnerRun:
    """One notebook's own training run.

    Attributes:
        notebook: the notebook's number, e.g. ``"01"``.
        minutes: default training time (training seconds only, not evaluation).
        recipes: ``{"plain": the course material's recipe, "improved": the notebook's default}``, and
            any other recipe the notebook offers.
        plain_name: registry name of the recorded plain run (its generator ships).
        networks: per recipe name, how its networks differ from the shipped model's, as
            arguments of :func:`build_networks`: ``hidden_dim`` (both networks' base width: a
            narrower pair takes more steps in the same minutes), ``d_norm`` (the
            discriminator's normalisation) and ``clusters`` (self-conditioning on that many
            k-means clusters, :mod:`ganlib.clusters`). A recipe not listed trains the shipped
            model's networks.
    """

    notebook: str
    minutes: float
    recipes: dict[str, Recipe]
    plain_name: str
    networks: dict[str, dict] = field(default_factory=dict)


LEARNER_RUNS: dict[str, LearnerRun] = {
    "mlp_gan_mnist": LearnerRun("01", 3.0, {"plain": PLAIN_MLP, "improved": FAST_MLP}, "mlp_gan_mnist_plain"),
    # The improved DCGAN run is self-conditioned: the course's networks with a group input, trained as
    # notebook 03's conditional GAN on 20 k-means clusters of the images (no labels). "unconditional" is
    # the best recipe found without clusters: half the width, and a discriminator that scores each image
    # on its own (BatchNorm's stalls the first 1,500-2,500 steps). Measurements: benchmarks/README.md.
    "dcgan_mnist": LearnerRun("02", 3.0, {"plain": PLAIN_DCGAN, "improved": FAST_CGAN, "unconditional": FAST_DCGAN},
                              "dcgan_mnist_plain",
                              networks={"improved": {"clusters": 20},
                                        "unconditional": {"hidden_dim": 32, "d_norm": "layer"}}),
    "cgan_onehot_mnist": LearnerRun("03", 3.0, {"plain": PLAIN_CGAN, "improved": FAST_CGAN},
                                    "cgan_onehot_mnist_plain"),
}


def build_networks(name: str, device: torch.device | str = "cpu", *, seed: int = 0, hidden_dim: int | None = None,
                   d_norm: str | None = None, clusters: int | None = None) -> tuple[nn.Module, nn.Module]:
    """A fresh generator and discriminator pair for a shipped MNIST model, seeded, on ``device``.

    Args:
        name: a key of :data:`DISCRIMINATORS`, e.g. ``"dcgan_mnist"``.
        device: where the networks go.
        seed: seeds the weight initialisation.
        hidden_dim: another base width for both networks (default: the shipped model's).
        d_norm: the DCGAN discriminator's normalisation, ``"batch"`` or ``"layer"`` (see
            :class:`ganlib.models.DCGANDiscriminator`); None: the shipped model's (BatchNorm).
        clusters: for ``"dcgan_mnist"``, self-conditioning: notebook 03's one-hot conditional
            pair (the same DCGAN networks with a class input) with one class per k-means cluster,
            see :mod:`ganlib.clusters`. None: the unconditional pair.

    Returns:
        ``(G, D)`` in training mode.
    """
    if name not in DISCRIMINATORS:
        raise ValueError(f"No training pair for {name!r}; known: {', '.join(DISCRIMINATORS)}.")
    classes = {}
    if clusters is not None:
        if name != "dcgan_mnist" or d_norm is not None:
            raise ValueError("clusters (self-conditioning) is an option of 'dcgan_mnist' with its BatchNorm "
                             f"discriminator only; got name={name!r}, d_norm={d_norm!r}.")
        if not (isinstance(clusters, int) and clusters >= 1):
            raise ValueError(f"clusters must be a positive int (the k of k-means), got {clusters!r}.")
        name, classes = "cgan_onehot_mnist", {"num_classes": clusters}
    d_class, d_kwargs, dcgan_init = DISCRIMINATORS[name]
    seed_everything(seed)
    if d_norm is not None and d_class is not DCGANDiscriminator:
        raise ValueError(f"d_norm is an option of the DCGAN discriminator only, not of {name!r}'s.")
    width = ({} if hidden_dim is None else {"hidden_dim": hidden_dim}) | classes
    norm = {} if d_norm is None else {"norm": d_norm}
    G, D = build_model(name, overrides=width), d_class(**(d_kwargs | width | norm))
    if dcgan_init:
        G.apply(init_dcgan_weights)
        D.apply(init_dcgan_weights)
    return G.to(device), D.to(device)


def build_learner_gan(name: str, recipe: str | Recipe, device: torch.device | str = "cpu", *, seed: int = 0,
                      **networks) -> GAN:
    """The training state of a notebook's own run: its networks and ``recipe`` ("plain", "improved" or a Recipe).

    A named recipe trains the networks the run gives it (:attr:`LearnerRun.networks`);
    ``networks`` (``hidden_dim=``, ``d_norm=``, see :func:`build_networks`) override them.
    """
    if isinstance(recipe, str):
        run = LEARNER_RUNS[name]
        if recipe not in run.recipes:
            raise ValueError(f"recipe must be one of {sorted(run.recipes)} or a ganlib.recipes.Recipe, "
                             f"got {recipe!r}.")
        networks = run.networks.get(recipe, {}) | {k: v for k, v in networks.items() if v is not None}
        recipe = run.recipes[recipe]
    G, D = build_networks(name, device, seed=seed, **networks)
    info = pretrained_info(name)
    num_classes = networks.get("clusters") or info.get("num_classes")
    return make_gan_from_recipe(G, D, recipe, z_dim=info["kwargs"]["z_dim"], num_classes=num_classes, seed=seed)


def learner_clustering(name: str, recipe: str, images: torch.Tensor, *, seed: int = 0) -> Clustering | None:
    """The k-means clusters that a self-conditioned recipe of a notebook's run trains on, else None.

    Args:
        name, recipe: the run and the recipe's name, as for :func:`build_learner_gan`.
        images: the training images ``(n, C, H, W)``.
        seed: seed of k-means (the notebooks use their ``seed``).

    Returns:
        A :class:`ganlib.clusters.Clustering` (train on its ``assignment`` instead of the labels,
        sample through :class:`ganlib.clusters.ClusterSampler`), or None when the recipe needs none.
    """
    clusters = LEARNER_RUNS[name].networks.get(recipe, {}).get("clusters")
    return None if clusters is None else cluster_images(images, clusters, seed=seed)


def quality(name: str, gan: GAN, evaluator: nn.Module, x_test: torch.Tensor, real_features: torch.Tensor,
            num_samples: int, *, seed: int = 0, clustering: Clustering | None = None) -> dict[str, float]:
    """FD, precision, recall (and class accuracy for a conditional GAN) of ``gan``'s sampler, rounded.

    Args:
        name: the model's registry name (gives its output range).
        gan: the training state; its sampler (the EMA generator when there is one) is scored
            in eval mode, as the notebooks draw it.
        evaluator, x_test, real_features: the MNIST evaluator, test images in [0, 1] and their features.
        num_samples: generated images to score.
        seed: seed of the scoring noise.
        clustering: for a self-conditioned run, its clusters: the samples are scored as an
            unconditional generator's, each from a cluster drawn at its share of the data.
    """
    sampler, num_classes = gan.sampler, gan.num_classes
    if clustering is not None:
        sampler, num_classes = ClusterSampler(gan.sampler, clustering.sizes), None
    scores = evaluate_generator(sampler, evaluator, x_test, scale=pretrained_info(name)["scale"],
                                num_classes=num_classes, num_samples=num_samples,
                                generator=torch.Generator().manual_seed(seed), real_features=real_features)
    return {k: v if isinstance(v, int) else round(float(v), 4) for k, v in scores.items()}
