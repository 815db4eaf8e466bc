"""ipywidgets explorers for notebook 05: sliders that drive a pretrained conditional generator.

Each explorer *is* a ``VBox``: display it as the last line of a cell. Its controls are
its first children and attributes (``explorer.fraction`` ...), and ``update()`` redraws.
A redraw replaces the PNG bytes of one ``ipywidgets.Image`` instead of clearing an
``Output`` widget, so the picture changes in place without flicker. Tests drive them
without a browser::

    explorer = ClassInterpolationExplorer(G)
    explorer.children[2].value = 0.5   # the "fraction" slider; redraws by itself
    explorer.update()                  # explicit redraw (idempotent)
    explorer.image.value               # the PNG bytes now shown

CSS classes for browser tests: ``gan-class-interp``, ``gan-noise-interp`` and
``gan-truncation`` on the explorers, ``gan-image`` on every image.
"""

from __future__ import annotations

import io
from typing import Sequence

import ipywidgets as widgets
import torch
from PIL import Image as PILImage
from torch import nn

from ganlib.data.scaling import Scale
from ganlib.interpolation import interpolate_classes, interpolate_noise, noise_path, truncation_samples
from ganlib.metrics import sample_diversity
from ganlib.noise import sample_z
from ganlib.viz import image_grid

_STYLE = {"description_width": "initial"}  # show "start class" in full, not cut off
_SLIDER_LAYOUT = {"width": "420px"}


def images_to_png(images: torch.Tensor, *, nrow: int = 8, scale: Scale = "tanh", zoom: int = 3) -> bytes:
    """Encode a batch of images as one PNG grid, enlarged without blurring.

    Args:
        images: ``(n, C, H, W)`` in the range given by ``scale``.
        nrow: images per row.
        scale: ``"tanh"`` for [-1, 1], ``"unit"`` for [0, 1].
        zoom: integer enlargement (nearest neighbour keeps the pixels sharp).

    Returns:
        The PNG file's bytes.
    """
    if not isinstance(zoom, int) or zoom < 1:
        raise ValueError(f"zoom must be a positive int, got {zoom!r}.")
    grid = image_grid(images, nrow=nrow, scale=scale)  # (H, W, 3) in [0, 1]
    pixels = (grid * 255).round().to(torch.uint8).numpy()
    picture = PILImage.fromarray(pixels)
    if zoom > 1:
        picture = picture.resize((picture.width * zoom, picture.height * zoom), PILImage.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _image_widget() -> widgets.Image:
    image = widgets.Image(format="png")
    image.add_class("gan-image")
    return image


def _fraction_slider(continuous_update: bool) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="fraction",
                               continuous_update=continuous_update, readout_format=".2f",
                               style=_STYLE, layout=_SLIDER_LAYOUT)


class _Explorer(widgets.VBox):
    """Shared plumbing: redraw when any control changes, count the redraws."""

    def _watch(self, *controls: widgets.Widget) -> None:
        self.renders = 0
        for control in controls:
            control.observe(lambda _change: self.update(), names="value")

    def _show(self, images: torch.Tensor, nrow: int, caption: str) -> None:
        self.image.value = images_to_png(images.cpu(), nrow=nrow, zoom=self.zoom)
        self.caption.value = caption
        self.renders += 1


class ClassInterpolationExplorer(_Explorer):
    """Sliders for start class, end class and fraction over a row of fixed noise vectors.

    Every image in the row keeps its own noise; the slider moves all of them from
    ``start class`` (fraction 0) to ``end class`` (fraction 1).

    Args:
        G: a conditional generator in eval mode (one-hot or embedding).
        num_samples: images in the row (noise vectors).
        seed: seed of the noise.
        zoom: PNG enlargement.
        continuous_update: redraw while a slider is dragged (a frame of 8 MNIST digits
            takes milliseconds on a CPU, so the default is True).
        class_names: one name per class (e.g. ``ganlib.data.CIFAR10_CLASSES``): the class
            sliders then show names instead of indices; their values stay indices.

    Attributes:
        start_class, end_class, fraction: the sliders (children 0, 1, 2).
        image: the ``ipywidgets.Image`` (child 3); caption: an ``HTML`` line (child 4).
        z: the fixed noise ``(num_samples, z_dim)``.
    """

    def __init__(self, G: nn.Module, *, num_samples: int = 8, seed: int = 0, zoom: int = 3,
                 continuous_update: bool = True, class_names: Sequence[str] | None = None) -> None:
        num_classes = G.num_classes
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"class_names must name all {num_classes} classes, got {len(class_names)} names.")
        self.G, self.zoom, self.num_samples = G, zoom, num_samples
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
        self.z = sample_z(num_samples, G.z_dim, generator=torch.Generator().manual_seed(seed))
        self.start_class = self._class_slider("start class", 0, continuous_update)
        self.end_class = self._class_slider("end class", min(1, num_classes - 1), continuous_update)
        self.fraction = _fraction_slider(continuous_update)
        self.image, self.caption = _image_widget(), widgets.HTML()
        super().__init__([self.start_class, self.end_class, self.fraction, self.image, self.caption])
        self.add_class("gan-class-interp")
        self._watch(self.start_class, self.end_class, self.fraction)
        self.update()

    def _class_slider(self, description: str, value: int, continuous_update: bool) -> widgets.SelectionSlider:
        # (label, value) options: the slider reads "automobile" while its value stays the index 1.
        # Set by index: ipywidgets 8 leaves the label empty for a falsy initial value (class 0).
        return widgets.SelectionSlider(options=list(zip(self.class_names, range(len(self.class_names)))),
                                       index=value, description=description, continuous_update=continuous_update,
                                       style=_STYLE, layout=_SLIDER_LAYOUT)

    def update(self) -> None:
        """Redraw the row for the current slider values."""
        start, end, t = self.start_class.value, self.end_class.value, self.fraction.value
        frames = interpolate_classes(self.G, self.z, start, end, t)  # (n, 1, C, H, W)
        a, b = self.class_names[start], self.class_names[end]
        caption = f"class code = {1 - t:.2f} &times; one_hot({a}) + {t:.2f} &times; one_hot({b})"
        self._show(frames[:, 0], self.num_samples, caption)


class NoiseInterpolationExplorer(_Explorer):
    """Method (lerp/slerp) and fraction between two noise vectors, one image per class.

    All images share the same noise, so the row shows how one point in noise space is
    drawn as each digit. The caption reports the noise norm, which lerp lets sag in the
    middle of the path while slerp keeps it near ``sqrt(z_dim)``.

    Args:
        G: a conditional generator in eval mode.
        seed: seed of the first pair of noise vectors; "new noise" draws further pairs.
        zoom: PNG enlargement.
        continuous_update: redraw while the slider is dragged.

    Attributes:
        method: ``ToggleButtons`` lerp/slerp (child 0); fraction: the slider (child 1);
        new_noise: a ``Button`` (child 2); image (child 3); caption (child 4);
        z_start, z_end: the current noise pair, each ``(1, z_dim)``.
    """

    def __init__(self, G: nn.Module, *, seed: int = 0, zoom: int = 3,
                 continuous_update: bool = True) -> None:
        self.G, self.zoom = G, zoom
        self.rng = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(G.num_classes)
        self._draw_pair()
        self.method = widgets.ToggleButtons(options=["lerp", "slerp"], value="slerp", description="method",
                                            style=_STYLE)
        self.fraction = _fraction_slider(continuous_update)
        self.new_noise = widgets.Button(description="new noise", icon="refresh",
                                        tooltip="draw a new pair of noise vectors")
        self.new_noise.on_click(lambda _button: self.resample())
        self.image, self.caption = _image_widget(), widgets.HTML()
        super().__init__([self.method, self.fraction, self.new_noise, self.image, self.caption])
        self.add_class("gan-noise-interp")
        self._watch(self.method, self.fraction)
        self.update()

    def _draw_pair(self) -> None:
        pair = sample_z(2, self.G.z_dim, generator=self.rng)
        self.z_start, self.z_end = pair[:1], pair[1:]

    def resample(self) -> None:
        """Draw a new pair of noise vectors and redraw (what the "new noise" button does)."""
        self._draw_pair()
        self.update()

    def update(self) -> None:
        """Redraw the row for the current method and fraction."""
        n = self.labels.shape[0]
        t, method = self.fraction.value, self.method.value
        frames = interpolate_noise(self.G, self.z_start.expand(n, -1), self.z_end.expand(n, -1),
                                   t, self.labels, method)
        norm = float(noise_path(self.z_start[0], self.z_end[0], t, method).norm())
        typical = self.G.z_dim ** 0.5
        caption = f"{method} at {t:.2f}: |z| = {norm:.2f} (a typical N(0, I) sample has |z| &asymp; {typical:.2f})"
        self._show(frames[:, 0], n, caption)


class TruncationExplorer(_Explorer):
    """A truncation slider over a grid of samples: rows are noise vectors, columns classes.

    The noise comes from :func:`ganlib.noise.truncated_noise` with a fixed seed and
    the ``"quantile"`` method, so moving the slider moves the same samples smoothly.

    Args:
        G: a conditional generator in eval mode.
        rows: samples per class.
        seed: noise seed.
        zoom: PNG enlargement.
        continuous_update: redraw while the slider is dragged.
        min_truncation, max_truncation: the slider's range.

    Attributes:
        truncation: the slider (child 0); image (child 1); caption (child 2).
    """

    def __init__(self, G: nn.Module, *, rows: int = 4, seed: int = 0, zoom: int = 2,
                 continuous_update: bool = True, min_truncation: float = 0.05,
                 max_truncation: float = 3.0) -> None:
        if not 0 < min_truncation < max_truncation:
            raise ValueError(f"need 0 < min_truncation < max_truncation, got {min_truncation}, {max_truncation}.")
        self.G, self.zoom, self.seed = G, zoom, seed
        if not isinstance(rows, int) or rows < 1:
            raise ValueError(f"rows must be a positive int, got {rows!r}.")
        num_classes = G.num_classes
        self.labels = torch.arange(num_classes).repeat(rows)  # row-major: one class per column
        self.truncation = widgets.FloatSlider(value=min(1.0, max_truncation), min=min_truncation,
                                              max=max_truncation, step=0.05, description="truncation",
                                              continuous_update=continuous_update, readout_format=".2f",
                                              style=_STYLE, layout=_SLIDER_LAYOUT)
        self.image, self.caption = _image_widget(), widgets.HTML()
        super().__init__([self.truncation, self.image, self.caption])
        self.add_class("gan-truncation")
        self._watch(self.truncation)
        self.update()

    def update(self) -> None:
        """Redraw the grid for the current truncation."""
        value = self.truncation.value
        images = truncation_samples(self.G, value, self.labels, seed=self.seed)
        caption = f"truncation {value:.2f}: every noise entry lies in [-{value:.2f}, {value:.2f}]"
        per_class = images.view(-1, self.G.num_classes, *images.shape[1:])  # (rows, classes, ...)
        if per_class.shape[0] >= 2:
            spread = sum(sample_diversity(per_class[:, c]) for c in range(per_class.shape[1])) / per_class.shape[1]
            caption += f"; diversity within a class (mean pixel distance) = {spread:.3f}"
        self._show(images, self.G.num_classes, caption)
