"""Tests for ganlib.models: shapes, output ranges, parameter counts and input errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib.models import (
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
from ganlib.models.cgan import class_maps
from ganlib.utils import count_parameters


# Parameter counts worked out by hand from the layer sizes (weights + biases).
def linear(i: int, o: int) -> int:
    return i * o + o


def conv(i: int, o: int, k: int) -> int:
    return i * o * k * k + o


def batchnorm(c: int) -> int:
    return 2 * c


def mlp_generator_params(z_dim: int = 64, h: int = 128) -> int:
    widths = [z_dim, h, 2 * h, 4 * h, 8 * h]
    blocks = sum(linear(a, b) + batchnorm(b) for a, b in zip(widths, widths[1:]))
    return blocks + linear(8 * h, 784)


def mlp_discriminator_params(h: int = 128) -> int:
    return linear(784, 4 * h) + linear(4 * h, 2 * h) + linear(2 * h, h) + linear(h, 1)


def dcgan_generator_params(z_dim: int, c: int = 1, h: int = 64) -> int:
    return (conv(z_dim, 4 * h, 3) + batchnorm(4 * h) + conv(4 * h, 2 * h, 4) + batchnorm(2 * h)
            + conv(2 * h, h, 3) + batchnorm(h) + conv(h, c, 4))


def dcgan_discriminator_params(c: int, h: int = 64) -> int:
    return conv(c, h, 4) + batchnorm(h) + conv(h, 2 * h, 4) + batchnorm(2 * h) + conv(2 * h, 1, 4)


@pytest.mark.parametrize(
    "model, expected",
    [
        (MLPGenerator(), mlp_generator_params()),
        (MLPDiscriminator(), mlp_discriminator_params()),
        (DCGANGenerator(), dcgan_generator_params(64)),
        (DCGANDiscriminator(), dcgan_discriminator_params(1)),
        (OneHotConditionalGenerator(), dcgan_generator_params(64 + 10)),
        (OneHotConditionalDiscriminator(), dcgan_discriminator_params(1 + 10)),
        (EmbeddingConditionalGenerator(), 10 * 64 + dcgan_generator_params(64)),
        (EmbeddingConditionalDiscriminator(), 10 * 784 + dcgan_discriminator_params(2)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_parameter_counts(model, expected):
    assert count_parameters(model) == expected


def test_course_parameter_counts_are_what_the_notebooks_print():
    # The notebooks print these; a change here means their stored outputs change too.
    assert count_parameters(MLPGenerator()) == 1_505_680
    assert count_parameters(MLPDiscriminator()) == 566_273
    assert count_parameters(DCGANGenerator()) == 747_841
    assert count_parameters(DCGANDiscriminator()) == 134_721
    assert count_parameters(OneHotConditionalGenerator()) == 770_881
    assert count_parameters(OneHotConditionalDiscriminator()) == 144_961
    assert count_parameters(EmbeddingConditionalGenerator()) == 748_481
    assert count_parameters(EmbeddingConditionalDiscriminator()) == 143_585


@pytest.mark.parametrize(
    "generator, scale",
    [(MLPGenerator(), "unit"), (DCGANGenerator(), "tanh")],
    ids=["mlp", "dcgan"],
)
def test_unconditional_generator_shape_and_range(generator, scale):
    z = torch.randn(5, 64) * 10  # large noise drives the output layer into saturation
    x = generator(z)
    assert x.shape == (5, 1, 28, 28)
    low = 0.0 if scale == "unit" else -1.0
    assert x.min() >= low and x.max() <= 1.0


@pytest.mark.parametrize("discriminator", [MLPDiscriminator(), DCGANDiscriminator()], ids=["mlp", "dcgan"])
def test_unconditional_discriminator_returns_one_logit_per_image(discriminator):
    logits = discriminator(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 1)
    assert torch.isfinite(logits).all()


def test_dcgan_discriminator_with_per_image_norm_scores_each_image_on_its_own():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    batch_norm, image_norm = DCGANDiscriminator(hidden_dim=8), DCGANDiscriminator(hidden_dim=8, norm="image")
    assert count_parameters(batch_norm) == count_parameters(image_norm)  # one scale and shift per channel each
    # In training mode BatchNorm makes an image's score depend on the rest of its batch.
    assert not torch.allclose(batch_norm(x)[:1], batch_norm(x[:1]))
    torch.testing.assert_close(image_norm(x)[:1], image_norm(x[:1]), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="norm must be one of"):
        DCGANDiscriminator(norm="instance")


@pytest.mark.parametrize("cls", [OneHotConditionalGenerator, EmbeddingConditionalGenerator])
def test_conditional_generator_uses_the_label(cls):
    generator = cls().eval()
    z = torch.randn(4, 64)
    x0 = generator(z, torch.zeros(4, dtype=torch.long))
    x7 = generator(z, torch.full((4,), 7))
    assert x0.shape == (4, 1, 28, 28)
    assert x0.min() >= -1 and x0.max() <= 1
    assert not torch.allclose(x0, x7)


@pytest.mark.parametrize("cls", [OneHotConditionalDiscriminator, EmbeddingConditionalDiscriminator])
def test_conditional_discriminator_uses_the_label(cls):
    discriminator = cls().eval()
    x = torch.rand(4, 1, 28, 28)
    logits0 = discriminator(x, torch.zeros(4, dtype=torch.long))
    logits3 = discriminator(x, torch.full((4,), 3))
    assert logits0.shape == (4, 1)
    assert not torch.allclose(logits0, logits3)


def test_one_hot_discriminator_sees_image_plus_class_planes():
    discriminator = OneHotConditionalDiscriminator()
    seen = {}
    discriminator.body.register_forward_pre_hook(lambda module, args: seen.update(x=args[0]))
    x, labels = torch.rand(2, 1, 28, 28), torch.tensor([4, 9])
    discriminator(x, labels)
    assert seen["x"].shape == (2, 11, 28, 28)
    assert torch.equal(seen["x"][:, :1], x)
    planes = seen["x"][:, 1:]
    assert torch.equal(planes[0, 4], torch.ones(28, 28)) and planes[0].sum() == 28 * 28
    assert torch.equal(planes[1, 9], torch.ones(28, 28)) and planes[1].sum() == 28 * 28


def test_class_maps_shape():
    maps = class_maps(torch.tensor([0, 2]), 3, 5, 6)
    assert maps.shape == (2, 3, 5, 6)
    assert torch.equal(maps[:, :, 0, 0], torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))


@pytest.mark.parametrize(
    "model, args, match",
    [
        (MLPGenerator(), (torch.randn(2, 10),), r"\(batch, 64\)"),
        (MLPGenerator(), (torch.ones(2, 64, dtype=torch.long),), "float noise"),
        (MLPDiscriminator(), (torch.rand(2, 1, 32, 32),), r"\(batch, 1, 28, 28\)"),
        (DCGANGenerator(), (torch.randn(2, 64, 1, 1),), r"\(batch, 64\)"),
        (DCGANDiscriminator(), (torch.rand(2, 3, 28, 28),), r"\(batch, 1, 28, 28\)"),
        (DCGANDiscriminator(), ([[0.0]],), "float image"),
        (OneHotConditionalGenerator(), (torch.randn(2, 74), torch.tensor([0, 1])), r"\(batch, 64\)"),
        (OneHotConditionalGenerator(), (torch.randn(2, 64), torch.tensor([0, 10])), r"0\.\.9"),
        (OneHotConditionalGenerator(), (torch.randn(2, 64), torch.tensor([0, 1, 2])), "one entry per sample"),
        (OneHotConditionalDiscriminator(), (torch.rand(2, 1, 28, 28), torch.tensor([0.0, 1.0])), "integer"),
        (EmbeddingConditionalGenerator(), (torch.randn(2, 64), torch.tensor([0, 12])), r"0\.\.9"),
        (EmbeddingConditionalDiscriminator(), (torch.rand(2, 1, 28, 28), torch.tensor([3])), "one entry per sample"),
        (EmbeddingConditionalDiscriminator(), (torch.rand(2, 11, 28, 28), torch.tensor([3, 4])),
         r"\(batch, 1, 28, 28\)"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else "",
)
def test_wrong_inputs_raise_value_error(model, args, match):
    with pytest.raises(ValueError, match=match):
        model(*args)


def test_init_dcgan_weights():
    generator = DCGANGenerator()
    generator.apply(init_dcgan_weights)
    convs = [m for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    norms = [m for m in generator.modules() if isinstance(m, nn.BatchNorm2d)]
    weights = torch.cat([m.weight.flatten() for m in convs])
    assert abs(weights.mean().item()) < 1e-3
    assert abs(weights.std().item() - 0.02) < 1e-3
    assert all(torch.all(m.bias == 0) for m in convs)
    scales = torch.cat([m.weight for m in norms])
    assert abs(scales.mean().item() - 1.0) < 0.01 and abs(scales.std().item() - 0.02) < 0.01
    assert all(torch.all(m.bias == 0) for m in norms)


def test_mirror_averaged_evaluator_judges_an_image_and_its_mirror_alike():
    from ganlib.models.evaluator import ResidualEvaluator

    torch.manual_seed(0)
    one_view = ResidualEvaluator(width=4).eval()
    two_views = ResidualEvaluator(width=4, mirror_average=True).eval()
    two_views.load_state_dict(one_view.state_dict())
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(two_views(x), two_views(x.flip(-1)))
        torch.testing.assert_close(two_views.features(x), (one_view.features(x) + one_view.features(x.flip(-1))) / 2)
        assert not torch.allclose(one_view(x), one_view(x.flip(-1)))  # one view is not mirror-symmetric
    two_views.train()
    one_view.train()
    torch.testing.assert_close(two_views(x), one_view(x))  # training sees one view, as before
