"""Drive every explorer of ganlib.widgets without a browser, as a learner's clicks would."""

from __future__ import annotations

import io

import pytest
import torch
from PIL import Image as PILImage

from ganlib.acgan_training import LabelledGenerator
from ganlib.interpolation import interpolate_classes
from ganlib.models import ACGANGenerator, OneHotConditionalGenerator
from ganlib.sampling import recalibrate_batchnorm
from ganlib.widgets import (
    ClassInterpolationExplorer,
    NoiseInterpolationExplorer,
    TruncationExplorer,
    images_to_png,
)

Z_DIM, NUM_CLASSES = 16, 10


@pytest.fixture(scope="module", params=["mnist", "cifar10"])
def generator(request) -> torch.nn.Module:
    """A tiny generator of each kind notebook 05 explores: grey 28x28 digits with a one-hot input,
    and colour 32x32 images from the ACGAN whose class sits in the first 10 noise entries."""
    torch.manual_seed(0)
    if request.param == "mnist":
        model = OneHotConditionalGenerator(Z_DIM, NUM_CLASSES, hidden_dim=8)
        for p in model.parameters():  # large weights so that every control visibly matters
            torch.nn.init.normal_(p, 0.0, 0.3)
        return model.eval()
    # Nine BatchNorm layers: untrained running statistics would wash the input out, so measure them.
    model = LabelledGenerator(ACGANGenerator(z_dim=Z_DIM, width=4), NUM_CLASSES)
    return recalibrate_batchnorm(model, Z_DIM, NUM_CLASSES, num_batches=2, batch_size=64)


def _cell(generator) -> int:
    """Pixels per image in a grid: the image's side plus the grid's 2-pixel padding."""
    with torch.no_grad():
        return 2 + generator(torch.zeros(1, Z_DIM), torch.zeros(1, dtype=torch.long)).shape[-1]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return PILImage.open(io.BytesIO(data)).size


def _descriptions(explorer) -> dict[str, object]:
    return {getattr(c, "description", None): c for c in explorer.children}


def test_images_to_png_grid_size_and_zoom() -> None:
    images = torch.zeros(6, 1, 28, 28)
    # make_grid: 3 per row, 2 rows, 2-pixel padding around every tile.
    assert _png_size(images_to_png(images, nrow=3, zoom=1)) == (2 + 3 * 30, 2 + 2 * 30)
    assert _png_size(images_to_png(images, nrow=3, zoom=3)) == (3 * 92, 3 * 62)
    with pytest.raises(ValueError, match="zoom"):
        images_to_png(images, zoom=0)


def test_png_pixels_follow_the_tanh_range() -> None:
    images = torch.stack([torch.full((1, 28, 28), -1.0), torch.full((1, 28, 28), 1.0)])
    picture = PILImage.open(io.BytesIO(images_to_png(images, nrow=2, zoom=1))).convert("L")
    assert picture.getpixel((2 + 14, 2 + 14)) == 0  # -1 is black
    assert picture.getpixel((2 + 30 + 14, 2 + 14)) == 255  # +1 is white


# ------------------------------------------------------------- class interpolation
def test_class_explorer_layout_and_names(generator) -> None:
    explorer = ClassInterpolationExplorer(generator, num_samples=4)
    assert "gan-class-interp" in explorer._dom_classes
    assert "gan-image" in explorer.image._dom_classes
    controls = _descriptions(explorer)
    assert controls["start class"] is explorer.start_class is explorer.children[0]
    assert controls["end class"] is explorer.end_class is explorer.children[1]
    assert controls["fraction"] is explorer.fraction is explorer.children[2]
    assert explorer.image is explorer.children[3]
    assert explorer.image.value  # drawn on creation, before any interaction


@pytest.mark.parametrize("child,value", [(0, 5), (1, 7), (2, 0.5)])
def test_class_explorer_every_slider_redraws(generator, child, value) -> None:
    explorer = ClassInterpolationExplorer(generator, num_samples=4)
    explorer.fraction.value = 0.3  # so that both classes show (start and end both matter)
    before, renders = explorer.image.value, explorer.renders
    explorer.children[child].value = value
    assert explorer.renders == renders + 1  # the observer redrew by itself
    assert explorer.image.value != before
    after = explorer.image.value
    explorer.update()  # an explicit redraw is harmless and gives the same picture
    assert explorer.image.value == after


def test_class_explorer_shows_the_interpolated_images(generator) -> None:
    explorer = ClassInterpolationExplorer(generator, num_samples=4, zoom=1)
    explorer.start_class.value, explorer.end_class.value, explorer.fraction.value = 2, 6, 0.25
    frames = interpolate_classes(generator, explorer.z, 2, 6, 0.25)[:, 0]
    assert explorer.image.value == images_to_png(frames, nrow=4, zoom=1)
    assert "0.75" in explorer.caption.value and "0.25" in explorer.caption.value


def test_class_explorer_with_class_names(generator) -> None:
    names = [f"class-{c}" for c in range(NUM_CLASSES)]
    explorer = ClassInterpolationExplorer(generator, num_samples=4, class_names=names)
    assert explorer.start_class.label == "class-0" and explorer.end_class.label == "class-1"
    explorer.fraction.value = 0.5
    explorer.end_class.value = 7  # values stay class indices; the slider shows the name
    assert explorer.end_class.label == "class-7"
    assert "one_hot(class-0)" in explorer.caption.value and "one_hot(class-7)" in explorer.caption.value
    frames = interpolate_classes(generator, explorer.z, 0, 7, 0.5)[:, 0]
    assert explorer.image.value == images_to_png(frames, nrow=4, zoom=explorer.zoom)
    with pytest.raises(ValueError, match="class_names"):
        ClassInterpolationExplorer(generator, class_names=names[:3])


# ------------------------------------------------------------- noise interpolation
def test_noise_explorer_layout_and_names(generator) -> None:
    explorer = NoiseInterpolationExplorer(generator)
    assert "gan-noise-interp" in explorer._dom_classes
    assert "gan-image" in explorer.image._dom_classes
    controls = _descriptions(explorer)
    assert controls["method"] is explorer.method is explorer.children[0]
    assert controls["fraction"] is explorer.fraction is explorer.children[1]
    assert controls["new noise"] is explorer.new_noise is explorer.children[2]
    assert tuple(explorer.method.options) == ("lerp", "slerp")


def test_noise_explorer_fraction_and_method(generator) -> None:
    explorer = NoiseInterpolationExplorer(generator)
    at_start = explorer.image.value
    explorer.method.value = "lerp"  # both paths start at z_start: same picture
    assert explorer.image.value == at_start
    explorer.children[1].value = 0.5
    lerp_middle = explorer.image.value
    assert lerp_middle != at_start
    explorer.children[0].value = "slerp"
    assert explorer.image.value != lerp_middle  # the two paths part in the middle
    assert "slerp at 0.50" in explorer.caption.value


def test_noise_explorer_new_noise_button(generator) -> None:
    explorer = NoiseInterpolationExplorer(generator)
    before, z_start = explorer.image.value, explorer.z_start.clone()
    explorer.new_noise.click()  # runs the on_click handlers as a browser click would
    assert not torch.equal(explorer.z_start, z_start)
    assert explorer.image.value != before


def test_noise_explorer_caption_reports_the_norm(generator) -> None:
    explorer = NoiseInterpolationExplorer(generator)
    explorer.fraction.value = 1.0
    assert f"|z| = {float(explorer.z_end.norm()):.2f}" in explorer.caption.value


# ---------------------------------------------------------------------- truncation
def test_truncation_explorer_layout_and_slider(generator) -> None:
    explorer = TruncationExplorer(generator, rows=2)
    assert "gan-truncation" in explorer._dom_classes
    assert "gan-image" in explorer.image._dom_classes
    assert _descriptions(explorer)["truncation"] is explorer.truncation is explorer.children[0]
    before = explorer.image.value
    explorer.children[0].value = 0.2
    assert explorer.image.value != before
    assert "truncation 0.20" in explorer.caption.value
    small = explorer.image.value
    explorer.children[0].value = 2.0
    explorer.children[0].value = 0.2
    assert explorer.image.value == small  # fixed seed: the same value, the same samples
    # 10 classes per row, 2 rows, zoom 2.
    cell = _cell(generator)
    assert _png_size(small) == (2 * (2 + 10 * cell), 2 * (2 + 2 * cell))


def test_truncation_explorer_checks_its_arguments(generator) -> None:
    with pytest.raises(ValueError, match="rows"):
        TruncationExplorer(generator, rows=0)
    with pytest.raises(ValueError, match="min_truncation"):
        TruncationExplorer(generator, min_truncation=0.0)
