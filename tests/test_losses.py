"""Tests for ganlib.losses against hand-written reference formulas."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib.losses import (
    d_loss_bce,
    d_loss_wasserstein,
    g_loss_bce,
    g_loss_wasserstein,
    gradient_penalty,
    mode_seeking_loss,
)


def bce_reference(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy written out: -(t log s + (1 - t) log(1 - s)), s = sigmoid."""
    s = torch.sigmoid(logits.double())
    return -(target * torch.log(s) + (1 - target) * torch.log(1 - s)).mean()


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(16, 1, generator=g) * 3, torch.randn(16, 1, generator=g) * 3


@pytest.mark.parametrize("real_target", [1.0, 0.9])
def test_d_loss_bce_matches_reference(logits, real_target):
    real, fake = logits
    expected = (bce_reference(real, real_target) + bce_reference(fake, 0.0)) / 2
    got = d_loss_bce(real, fake, real_target)
    assert got.dim() == 0
    assert torch.allclose(got.double(), expected, atol=1e-6)


def test_g_loss_bce_is_non_saturating(logits):
    _, fake = logits
    expected = -torch.log(torch.sigmoid(fake.double())).mean()
    assert torch.allclose(g_loss_bce(fake).double(), expected, atol=1e-6)


def test_bce_losses_are_finite_for_confident_logits():
    # sigmoid followed by log would give inf here; the logits form must not.
    real, fake = torch.full((4, 1), 200.0), torch.full((4, 1), -200.0)
    assert torch.isfinite(d_loss_bce(fake, real))
    assert torch.isfinite(g_loss_bce(fake))
    assert torch.allclose(g_loss_bce(fake), torch.tensor(200.0))


def test_d_loss_bce_perfect_discriminator_is_near_zero():
    assert d_loss_bce(torch.full((8, 1), 30.0), torch.full((8, 1), -30.0)) < 1e-10


@pytest.mark.parametrize("real_target", [0.0, 1.5, -0.1])
def test_d_loss_bce_rejects_bad_target(logits, real_target):
    with pytest.raises(ValueError, match="real_target"):
        d_loss_bce(*logits, real_target=real_target)


def test_wasserstein_losses():
    real = torch.tensor([[1.0], [3.0]])
    fake = torch.tensor([[-1.0], [0.0]])
    assert d_loss_wasserstein(real, fake).item() == pytest.approx(-0.5 - 2.0)
    assert g_loss_wasserstein(fake).item() == pytest.approx(0.5)


def test_gradient_penalty_of_linear_critic_is_exact():
    # critic(x) = <w, x> has gradient w everywhere, so the penalty is (||w|| - 1)^2
    # whatever the mixing weights are.
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 1)).double()
    x_real, x_fake = torch.randn(5, 2, 3, 3).double(), torch.randn(5, 2, 3, 3).double()
    w = critic[1].weight
    expected = (w.norm() - 1) ** 2
    penalty = gradient_penalty(critic, x_real, x_fake)
    assert torch.allclose(penalty, expected)
    # Its gradient w.r.t. w (create_graph=True makes this possible): 2 (||w|| - 1) w / ||w||.
    penalty.backward()
    expected_grad = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(w.grad, expected_grad.detach())


def test_gradient_penalty_uses_one_mixing_weight_per_sample():
    # critic(x) = ||x||^2 / 2 has gradient x, so the penalty is mean((||x_hat|| - 1)^2)
    # with x_hat = eps * real + (1 - eps) * fake; replay the same eps from the generator.
    def critic(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x**2).flatten(1).sum(1, keepdim=True)

    x_real, x_fake = torch.randn(6, 1, 4, 4).double(), torch.randn(6, 1, 4, 4).double()
    penalty = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(7))
    eps = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    x_hat = eps * x_real + (1 - eps) * x_fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert torch.allclose(penalty, expected)


def test_gradient_penalty_matches_finite_differences():
    # A nonlinear critic: compare the autograd input-gradient norm inside the penalty
    # with central finite differences on the same mixed points.
    torch.manual_seed(1)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    x_real, x_fake = torch.randn(3, 2, 2, 2).double(), torch.randn(3, 2, 2, 2).double()
    penalty = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(2))
    eps = torch.rand(3, 1, 1, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x_hat = (eps * x_real + (1 - eps) * x_fake).flatten(1)
    h = 1e-6
    norms = []
    with torch.no_grad():
        for row in x_hat:
            grad = torch.zeros_like(row)
            for i in range(row.numel()):
                step = torch.zeros_like(row)
                step[i] = h
                up = critic((row + step).view(1, 2, 2, 2))
                down = critic((row - step).view(1, 2, 2, 2))
                grad[i] = (up - down).item() / (2 * h)
            norms.append(grad.norm())
    expected = ((torch.stack(norms) - 1) ** 2).mean()
    assert torch.allclose(penalty.detach(), expected, atol=1e-6)


def test_gradient_penalty_does_not_backprop_into_fakes():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    x_fake = torch.randn(2, 1, 2, 2, requires_grad=True)
    gradient_penalty(critic, torch.randn(2, 1, 2, 2), x_fake).backward()
    assert x_fake.grad is None


def test_gradient_penalty_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(lambda x: x.sum((1, 2, 3))[:, None], torch.zeros(2, 1, 4, 4), torch.zeros(3, 1, 4, 4))


def test_mode_seeking_loss_against_a_pairwise_loop():
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(6, 1, 2, 2, generator=g), torch.randn(6, 5, generator=g)
    expected = sum(1 / ((x[i] - x[i + 3]).abs().mean() / (z[i] - z[i + 3]).abs().mean() + 1e-5)
                   for i in range(3)) / 3
    torch.testing.assert_close(mode_seeking_loss(x, z), expected)


def test_mode_seeking_loss_punishes_equal_images_of_different_noises():
    z = torch.randn(4, 8)
    varied = torch.randn(4, 3, 4, 4)
    collapsed = varied[:2].repeat(2, 1, 1, 1)  # each pair: one image for two noises
    assert mode_seeking_loss(collapsed, z) > 1e4 * mode_seeking_loss(varied, z)
    x = varied.clone().requires_grad_()
    mode_seeking_loss(x, z).backward()
    assert x.grad.abs().sum() > 0  # it trains the generator through its images


@pytest.mark.parametrize("n_images, n_noises", [(5, 5), (4, 6)])
def test_mode_seeking_loss_needs_two_halves_of_one_batch(n_images, n_noises):
    with pytest.raises(ValueError, match="same even number"):
        mode_seeking_loss(torch.zeros(n_images, 1, 2, 2), torch.zeros(n_noises, 3))
