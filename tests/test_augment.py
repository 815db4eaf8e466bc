"""Tests for ganlib.augment: crops and flips done on the batch's own device."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganlib.augment import random_crop_flip, random_flip


def _find_crop(out: torch.Tensor, padded: torch.Tensor, p: int) -> tuple[int, int, bool] | None:
    """Brute force: which (dy, dx, flipped) window of ``padded`` equals ``out``."""
    h, w = out.shape[-2:]
    for dy in range(2 * p + 1):
        for dx in range(2 * p + 1):
            window = padded[:, dy : dy + h, dx : dx + w]
            if torch.equal(window, out):
                return dy, dx, False
            if torch.equal(window.flip(-1), out):
                return dy, dx, True
    return None


def test_every_output_is_a_padded_crop_or_its_mirror():
    x = torch.rand(64, 3, 8, 8)  # random values: a match can only be the true window
    out = random_crop_flip(x, padding=2, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = F.pad(x, (2, 2, 2, 2))
    found = [_find_crop(out[i], padded[i], 2) for i in range(64)]
    assert all(f is not None for f in found)
    offsets = {(dy, dx) for dy, dx, _ in found}
    flips = sum(flipped for _, _, flipped in found)
    assert len(offsets) > 10  # many different offsets, not one fixed shift
    assert 16 < flips < 48  # about half mirrored


def test_all_offsets_are_reachable_and_flip_is_fair():
    x = torch.rand(4000, 1, 4, 4)
    out = random_crop_flip(x, padding=1, flip=False, generator=torch.Generator().manual_seed(1))
    padded = F.pad(x, (1, 1, 1, 1))
    seen = {_find_crop(out[i], padded[i], 1)[:2] for i in range(300)}
    assert seen == {(dy, dx) for dy in range(3) for dx in range(3)}
    flipped = random_flip(x, generator=torch.Generator().manual_seed(2))
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    same = (flipped == x).flatten(1).all(1)
    assert bool((mirrored | same).all())
    assert 0.45 < mirrored.float().mean().item() < 0.55


def test_identity_without_padding_or_flip():
    x = torch.rand(5, 3, 6, 6)
    assert torch.equal(random_crop_flip(x, padding=0, flip=False), x)


def test_reproducible_with_a_generator_and_seed_dependent():
    x = torch.rand(32, 3, 8, 8)
    a = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    b = random_crop_flip(x, generator=torch.Generator().manual_seed(3))
    c = random_crop_flip(x, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_reflect_padding_keeps_image_content():
    x = torch.rand(16, 3, 8, 8) + 1.0  # all values >= 1: zero padding would show up
    out = random_crop_flip(x, padding=2, padding_mode="reflect", generator=torch.Generator().manual_seed(5))
    assert out.min() >= 1.0
    zero_padded = random_crop_flip(x, padding=2, generator=torch.Generator().manual_seed(5))
    assert (zero_padded == 0).any()


@pytest.mark.parametrize("bad", [torch.rand(3, 8, 8), "images"])
def test_wrong_input_raises(bad):
    with pytest.raises(ValueError, match="batch of images"):
        random_crop_flip(bad)
    with pytest.raises(ValueError, match="padding"):
        random_crop_flip(torch.rand(2, 3, 8, 8), padding=-1)
