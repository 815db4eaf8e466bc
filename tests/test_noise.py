"""Tests for ganlib.noise: samplers, labels, one-hot codes and interpolation."""

from __future__ import annotations

import math

import pytest
import torch

from ganlib.noise import (
    check_labels,
    lerp,
    one_hot,
    sample_labels,
    sample_z,
    slerp,
    truncated_noise,
)


def test_sample_z_shape_and_reproducible_with_generator():
    z1 = sample_z(5, 64, generator=torch.Generator().manual_seed(3))
    z2 = sample_z(5, 64, generator=torch.Generator().manual_seed(3))
    assert z1.shape == (5, 64) and z1.dtype == torch.float32
    assert torch.equal(z1, z2)
    assert not torch.equal(z1, sample_z(5, 64, generator=torch.Generator().manual_seed(4)))


def test_sample_z_is_standard_normal():
    z = sample_z(4000, 64, generator=torch.Generator().manual_seed(0))
    assert abs(z.mean().item()) < 0.01
    assert abs(z.std().item() - 1.0) < 0.01


@pytest.mark.parametrize("n, z_dim", [(0, 64), (-1, 64), (4, 0), (2.5, 64), (4, "64")])
def test_sample_z_rejects_bad_sizes(n, z_dim):
    with pytest.raises(ValueError, match="positive int"):
        sample_z(n, z_dim)


def test_sample_labels_range_and_all_classes_appear():
    labels = sample_labels(500, 10, generator=torch.Generator().manual_seed(0))
    assert labels.shape == (500,) and labels.dtype == torch.int64
    assert set(labels.tolist()) == set(range(10))


@pytest.mark.parametrize(
    "labels, match",
    [
        ([1, 2], "torch.Tensor"),
        (torch.tensor([0.0, 1.0]), "integer"),
        (torch.tensor([[0, 1]]), "1-D"),
        (torch.tensor([0, 10]), r"0\.\.9"),
        (torch.tensor([-1, 3]), r"0\.\.9"),
    ],
)
def test_check_labels_errors(labels, match):
    with pytest.raises(ValueError, match=match):
        check_labels(labels, 10)


def test_check_labels_accepts_valid_and_empty():
    check_labels(torch.tensor([0, 9, 3]), 10)
    check_labels(torch.tensor([], dtype=torch.long), 10)


def test_one_hot_matches_manual_encoding():
    labels = torch.tensor([3, 0, 9, 3])
    expected = torch.zeros(4, 10)
    for row, label in enumerate(labels.tolist()):
        expected[row, label] = 1.0
    encoded = one_hot(labels, 10)
    assert encoded.dtype == torch.float32
    assert torch.equal(encoded, expected)


def test_one_hot_rejects_out_of_range():
    with pytest.raises(ValueError):
        one_hot(torch.tensor([10]), 10)


@pytest.mark.parametrize("truncation", [0.5, 1.0, 2.0])
def test_truncated_noise_stays_in_bounds_and_is_redrawn_not_clipped(truncation):
    z = truncated_noise(2000, 16, truncation, seed=0, method="resample")
    assert z.shape == (2000, 16)
    assert z.abs().max() <= truncation
    # Clipping would pile mass exactly on the bounds; redrawing leaves none there.
    assert (z.abs() == truncation).sum() == 0
    # Variance of N(0,1) truncated to [-a, a]: 1 - 2 a phi(a) / (2 Phi(a) - 1).
    a = truncation
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(a / math.sqrt(2))
    expected_var = 1 - 2 * a * phi / mass
    assert abs(z.var().item() - expected_var) < 0.03


def test_truncated_noise_reproducible():
    a = truncated_noise(8, 4, 0.7, seed=1, method="resample")
    b = truncated_noise(8, 4, 0.7, seed=1, method="resample")
    assert torch.equal(a, b)


@pytest.mark.parametrize("truncation", [0, -1.0, "1"])
def test_truncated_noise_rejects_bad_truncation(truncation):
    with pytest.raises(ValueError, match="truncation"):
        truncated_noise(4, 4, truncation)


def test_lerp_endpoints_midpoint_and_batch_of_t():
    start, end = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    assert torch.equal(lerp(start, end, 0.0), start)
    assert torch.equal(lerp(start, end, 1.0), end)
    assert torch.allclose(lerp(start, end, 0.25), torch.tensor([1.0, 1.0]))
    path = lerp(start, end, torch.linspace(0, 1, 5)[:, None])
    assert path.shape == (5, 2)
    assert torch.allclose(path[2], (start + end) / 2)


def test_slerp_follows_the_unit_circle():
    # Independent formula: between two orthogonal unit vectors, slerp is a rotation.
    start, end = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    t = torch.linspace(0, 1, 7)[:, None]
    angle = t * math.pi / 2
    expected = torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)
    assert torch.allclose(slerp(start, end, t), expected, atol=1e-6)


def test_slerp_keeps_norm_where_lerp_shrinks_it():
    g = torch.Generator().manual_seed(0)
    start, end = sample_z(1, 512, generator=g)[0], sample_z(1, 512, generator=g)[0]
    end = end * start.norm() / end.norm()  # equal norms: slerp keeps exactly that norm
    t = torch.linspace(0, 1, 9)[:, None]
    spherical, linear = slerp(start, end, t), lerp(start, end, t)
    assert torch.allclose(spherical.norm(dim=1), start.norm().expand(9), rtol=1e-4)
    assert linear[4].norm() < 0.8 * start.norm()  # the middle of the chord is short
    assert torch.allclose(spherical[0], start, atol=1e-5)
    assert torch.allclose(spherical[-1], end, atol=1e-5)


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    start = torch.tensor([1.0, 2.0, 3.0])
    end = 3 * start
    out = slerp(start, end, torch.tensor([[0.5]]))
    assert torch.isfinite(out).all()
    assert torch.allclose(out[0], 2 * start)


def test_slerp_batched_pairs():
    g = torch.Generator().manual_seed(1)
    start, end = sample_z(3, 8, generator=g), sample_z(3, 8, generator=g)
    out = slerp(start, end, 0.0)
    assert out.shape == (3, 8) and torch.allclose(out, start, atol=1e-6)


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_interpolation_rejects_shape_mismatch(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(torch.zeros(3), torch.zeros(4), 0.5)
