"""Make the static figures in ``images/`` that the notebooks show beside their widgets.

Widget state is not stored in an executed notebook (papermill drops it), so next to each
widget a notebook shows a PNG made here, from the shipped weights, by the same ganlib
functions the notebook calls. One function per figure; add yours to ``FIGURES``.

Usage::

    python maintainer/make_figures.py                     # every figure
    python maintainer/make_figures.py --only 05_truncation
    python maintainer/make_figures.py --cgan-weights G.pt # a state dict instead of the shipped one

The ``05_cifar10_*`` figures need the shipped ``acgan_cifar10`` (maintainer/ship_acgan_cifar10.py).
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path
from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no window

import matplotlib.pyplot as plt
import torch

from ganlib.data import CIFAR10_CLASSES
from ganlib.interpolation import interpolate_classes, interpolate_noise, noise_path, truncation_samples
from ganlib.metrics import sample_diversity
from ganlib.noise import sample_z
from ganlib.viz import plot_filmstrip

REPO_ROOT = Path(__file__).resolve().parent.parent
DPI = 150
SEED = 0
FRACTIONS = torch.linspace(0, 1, 9)
TRUNCATIONS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
CGAN_WEIGHTS: Path | None = None  # set by --cgan-weights


@functools.cache
def cgan_generator() -> torch.nn.Module:
    """The one-hot conditional MNIST generator of notebook 05, in eval mode on the CPU."""
    if CGAN_WEIGHTS is not None:
        from ganlib.checkpoints import load_model_state
        from ganlib.models import OneHotConditionalGenerator

        generator = OneHotConditionalGenerator(z_dim=64, num_classes=10)
        state = torch.load(CGAN_WEIGHTS, map_location="cpu", weights_only=True)
        load_model_state(generator, state, str(CGAN_WEIGHTS))
        return generator.eval()
    from ganlib.pretrained import load_pretrained

    return load_pretrained("cgan_onehot_mnist", device="cpu")


@functools.cache
def acgan_generator() -> torch.nn.Module:
    """The CIFAR-10 ACGAN generator of notebooks 04-05 with the ``G(z, labels)`` interface, in eval mode."""
    from ganlib.acgan_training import LabelledGenerator
    from ganlib.pretrained import load_pretrained

    return LabelledGenerator(load_pretrained("acgan_cifar10", device="cpu")).eval()


def _name(label: int, class_names: Sequence[str] | None) -> str:
    return class_names[label] if class_names else str(label)


def _fraction_labels(fractions: torch.Tensor) -> list[str]:
    return [f"{float(t):.2g}" for t in fractions]


MNIST_PAIRS = ((1, 7), (3, 8), (4, 9), (0, 6), (2, 5))
CIFAR10_PAIRS = ((1, 9), (7, 4), (3, 5), (0, 8), (2, 0))  # automobile→truck, horse→deer, cat→dog, ...


def class_interpolation(generator: torch.nn.Module, pairs: Sequence[tuple[int, int]] = MNIST_PAIRS,
                        class_names: Sequence[str] | None = None) -> plt.Figure:
    """Rows of class walks (start -> end) with fixed noise per row."""
    z = sample_z(len(pairs), generator.z_dim, generator=torch.Generator().manual_seed(SEED))
    rows = torch.cat([interpolate_classes(generator, z[i:i + 1], a, b, FRACTIONS)
                      for i, (a, b) in enumerate(pairs)])
    ax = plot_filmstrip(rows, col_labels=_fraction_labels(FRACTIONS),
                        row_labels=[f"{_name(a, class_names)} → {_name(b, class_names)}" for a, b in pairs],
                        title="Class interpolation: fixed noise, class code from start to end")
    ax.set_xlabel("fraction t of the end class")
    return ax.figure


def noise_norms(generator: torch.nn.Module) -> plt.Figure:
    """Norms of Gaussian noise, and along lerp and slerp paths between two samples."""
    z_dim = generator.z_dim
    rng = torch.Generator().manual_seed(SEED)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    norms = sample_z(10_000, z_dim, generator=rng).norm(dim=1)
    left.hist(norms.numpy(), bins=60, color="0.6")
    left.axvline(z_dim ** 0.5, color="k", linestyle="--", label=f"sqrt(z_dim) = {z_dim ** 0.5:.1f}")
    left.set_xlim(0, None)
    left.set_xlabel("|z|")
    left.set_title(f"|z| of 10,000 samples of N(0, I), z_dim = {z_dim}")
    left.legend()
    t = torch.linspace(0, 1, 101)
    for i in range(5):
        z0, z1 = sample_z(2, z_dim, generator=rng)
        for method, color in (("lerp", "tab:red"), ("slerp", "tab:blue")):
            right.plot(t, noise_path(z0, z1, t, method).norm(dim=-1), color=color, alpha=0.7,
                       label=method if i == 0 else None)
    right.axhline(z_dim ** 0.5, color="k", linestyle="--", linewidth=1)
    right.set_ylim(0, None)
    right.set_xlabel("fraction t")
    right.set_ylabel("|z(t)|")
    right.set_title("Norm along the path between two samples (5 pairs)")
    right.legend()
    fig.tight_layout()
    return fig


def noise_interpolation(generator: torch.nn.Module, classes: Sequence[int] = (2, 5, 8),
                        class_names: Sequence[str] | None = None) -> plt.Figure:
    """Lerp and slerp filmstrips between the same two noise vectors, for three classes."""
    z0, z1 = sample_z(2, generator.z_dim, generator=torch.Generator().manual_seed(SEED + 1))
    rows, names = [], []
    for label in classes:
        for method in ("lerp", "slerp"):
            rows.append(interpolate_noise(generator, z0[None], z1[None], FRACTIONS, label, method))
            names.append(f"{method}, {_name(label, class_names) if class_names else f'class {label}'}")
    ax = plot_filmstrip(torch.cat(rows), col_labels=_fraction_labels(FRACTIONS), row_labels=names,
                        title="Noise interpolation: the same two noise vectors, lerp vs slerp")
    ax.set_xlabel("fraction t")
    return ax.figure


def truncation_grid(generator: torch.nn.Module, label: int = 5, class_names: Sequence[str] | None = None) -> plt.Figure:
    """The same 12 samples of one class at several truncation values."""
    count = 12
    labels = torch.full((count,), label)
    rows = torch.stack([truncation_samples(generator, t, labels, seed=SEED) for t in TRUNCATIONS])
    ax = plot_filmstrip(rows, row_labels=[f"t = {t:g}" for t in TRUNCATIONS],
                        title=f"Truncation: the same {count} noise draws (class {_name(label, class_names)}), "
                              "cut to [-t, t]")
    return ax.figure


def truncation_tradeoff(generator: torch.nn.Module, per_class: int = 100, num_real: int = 2000) -> plt.Figure:
    """Fidelity (precision) and diversity (recall, pixel distance) against truncation.

    Precision and recall are k-NN estimates in the MNIST evaluator's feature space against
    ``num_real`` test images, as in notebook 05; the evaluator's class accuracy is not used:
    for a well-trained generator it is 1.000 at every truncation and shows no trade-off.
    """
    from ganlib.data import load_mnist
    from ganlib.metrics import features, precision_recall
    from ganlib.pretrained import load_pretrained

    evaluator = load_pretrained("mnist_evaluator", device="cpu")
    x_real, _ = load_mnist(None, train=False, scale="unit")
    real_feats = features(evaluator, x_real[:num_real], scale="unit")
    num_classes = generator.num_classes
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    precision, recall, diversity = [], [], []
    for t in TRUNCATIONS:
        images = truncation_samples(generator, t, labels, seed=SEED)
        p, r = precision_recall(real_feats, features(evaluator, images, scale="tanh"))
        precision.append(p)
        recall.append(r)
        groups = images.view(num_classes, per_class, *images.shape[1:])
        diversity.append(sum(sample_diversity(g) for g in groups) / num_classes)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.plot(TRUNCATIONS, precision, "o-", color="tab:green", label="fidelity: precision")
    ax.plot(TRUNCATIONS, recall, "^-", color="tab:blue", label="diversity: recall")
    ax.set_xlabel("truncation t")
    ax.set_ylabel("precision / recall")
    ax.legend(loc="center right")
    twin = ax.twinx()
    twin.plot(TRUNCATIONS, diversity, "s--", color="tab:purple", label="pixel diversity")
    twin.set_ylabel("mean pixel distance within a class", color="tab:purple")
    ax.set_title(f"Truncation trades diversity for fidelity ({per_class} samples per class)")
    fig.tight_layout()
    return fig


FIGURES: dict[str, tuple[Callable[[], torch.nn.Module], Callable[..., plt.Figure]]] = {
    # name (file images/<name>.png): (what to load, how to draw)
    "05_class_interpolation": (cgan_generator, class_interpolation),
    "05_noise_norms": (cgan_generator, noise_norms),
    "05_noise_interpolation": (cgan_generator, noise_interpolation),
    "05_truncation": (cgan_generator, truncation_grid),
    "05_truncation_tradeoff": (cgan_generator, truncation_tradeoff),
    "05_cifar10_class_interpolation": (acgan_generator, functools.partial(
        class_interpolation, pairs=CIFAR10_PAIRS, class_names=CIFAR10_CLASSES)),
    "05_cifar10_noise_interpolation": (acgan_generator, functools.partial(
        noise_interpolation, classes=(7, 8, 1), class_names=CIFAR10_CLASSES)),
    "05_cifar10_truncation": (acgan_generator, functools.partial(
        truncation_grid, label=7, class_names=CIFAR10_CLASSES)),
}


def make(name: str, out_dir: Path) -> Path:
    """Draw one figure and save it as ``out_dir/<name>.png``; returns the path."""
    load, draw = FIGURES[name]
    fig = draw(load())
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    global CGAN_WEIGHTS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(FIGURES), help="figures to make (default: all)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "images", help="output folder")
    parser.add_argument("--cgan-weights", type=Path, help="generator state dict for the 05_* figures")
    args = parser.parse_args(argv)
    CGAN_WEIGHTS = args.cgan_weights
    torch.manual_seed(SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or FIGURES:
        print(f"wrote {make(name, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
