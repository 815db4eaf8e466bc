"""Tests of ganlib.interpolation: class walks, noise walks, truncation, and the filmstrips that show them."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from ganlib.acgan_training import LabelledGenerator
from ganlib.interpolation import (
    check_fractions,
    interpolate_classes,
    interpolate_noise,
    noise_path,
    run_with_class_code,
    soft_class_code,
    truncation_samples,
)
from ganlib.metrics import sample_diversity
from ganlib.models import (
    ACGANGenerator,
    DCGANGenerator,
    EmbeddingConditionalGenerator,
    OneHotConditionalGenerator,
)
from ganlib.noise import one_hot, truncated_noise
from ganlib.viz import plot_filmstrip

Z_DIM, NUM_CLASSES = 16, 10


def _eval(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)  # default (not DCGAN) init: large enough weights for visible changes
    for p in model.parameters():
        torch.nn.init.normal_(p, 0.0, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def onehot_g() -> OneHotConditionalGenerator:
    return _eval(OneHotConditionalGenerator(Z_DIM, NUM_CLASSES, hidden_dim=8))


@pytest.fixture(scope="module")
def embedding_g() -> EmbeddingConditionalGenerator:
    return _eval(EmbeddingConditionalGenerator(Z_DIM, NUM_CLASSES, hidden_dim=8))


@pytest.fixture(scope="module")
def acgan_g() -> LabelledGenerator:
    """Notebook 04's generator (tiny widths): its class sits in the first 10 noise entries."""
    torch.manual_seed(0)
    G = LabelledGenerator(ACGANGenerator(Z_DIM, width=4))
    # Calibrate BatchNorm on one big batch (cumulative average), as training would: with the
    # initial running statistics a deep ReLU stack shrinks the input's effect to ~1e-5.
    for module in G.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = None
    with torch.no_grad():
        G(torch.randn(256, Z_DIM), torch.arange(256) % NUM_CLASSES)
    return G.eval()


def _z(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, Z_DIM, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------- class codes
def test_soft_class_code_blends_two_one_hots() -> None:
    code = soft_class_code(2, 7, [0.0, 0.25, 1.0], NUM_CLASSES)
    assert code.shape == (3, NUM_CLASSES)
    assert torch.equal(code[0], one_hot(torch.tensor([2]), NUM_CLASSES)[0])
    assert torch.equal(code[2], one_hot(torch.tensor([7]), NUM_CLASSES)[0])
    assert code[1, 2] == 0.75 and code[1, 7] == 0.25
    assert torch.allclose(code.sum(1), torch.ones(3))


def test_soft_class_code_same_class_is_one_hot() -> None:
    code = soft_class_code(4, 4, 0.3, NUM_CLASSES)
    assert torch.allclose(code[0], one_hot(torch.tensor([4]), NUM_CLASSES)[0])


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), [0.5, 2.0], []])
def test_fractions_outside_unit_interval_raise(bad) -> None:
    with pytest.raises(ValueError, match="fractions"):
        check_fractions(bad)


@pytest.mark.parametrize("start,end", [(10, 0), (-1, 0), (0, 10), (1.5, 0), (True, 0)])
def test_class_out_of_range_raises(start, end) -> None:
    with pytest.raises(ValueError, match="class"):
        soft_class_code(start, end, 0.5, NUM_CLASSES)


# ------------------------------------------------------------ class interpolation
@pytest.mark.parametrize("which", ["onehot_g", "embedding_g", "acgan_g"])
def test_one_hot_code_reproduces_the_label_path(which, request) -> None:
    generator = request.getfixturevalue(which)
    z, labels = _z(5), torch.tensor([0, 3, 9, 3, 1])
    with torch.no_grad():
        expected = generator(z, labels)
    got = run_with_class_code(generator, z, one_hot(labels, NUM_CLASSES))
    assert torch.allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("which,image_shape", [("onehot_g", (1, 28, 28)), ("embedding_g", (1, 28, 28)),
                                               ("acgan_g", (3, 32, 32))])
def test_class_interpolation_endpoints_are_the_pure_classes(which, image_shape, request) -> None:
    generator = request.getfixturevalue(which)
    z = _z(3)
    frames = interpolate_classes(generator, z, 2, 7, torch.linspace(0, 1, 5))
    assert frames.shape == (3, 5, *image_shape)
    with torch.no_grad():
        start = generator(z, torch.full((3,), 2))
        end = generator(z, torch.full((3,), 7))
    # 1e-5: a batch of 15 and a batch of 3 may take different convolution kernels.
    assert torch.allclose(frames[:, 0], start, atol=1e-5)
    assert torch.allclose(frames[:, -1], end, atol=1e-5)
    # The middle is neither endpoint (a broken blend that ignored t would pass the above).
    assert (frames[:, 2] - start).abs().max() > 1e-3
    assert (frames[:, 2] - end).abs().max() > 1e-3


def test_embedding_variant_blends_the_embeddings(embedding_g) -> None:
    z = _z(2)
    table = embedding_g.label_embedding.weight.detach()
    with torch.no_grad():
        expected = embedding_g.body(z * (0.7 * table[1] + 0.3 * table[8]))
    frames = interpolate_classes(embedding_g, z, 1, 8, 0.3)
    assert torch.allclose(frames[:, 0], expected, atol=1e-6)


def test_class_interpolation_rows_do_not_depend_on_each_other(onehot_g) -> None:
    z = _z(4)
    together = interpolate_classes(onehot_g, z, 0, 5, [0.2, 0.6])
    alone = interpolate_classes(onehot_g, z[2:3], 0, 5, [0.2, 0.6])
    assert torch.allclose(together[2], alone[0], atol=1e-6)


def test_training_mode_is_refused() -> None:
    generator = OneHotConditionalGenerator(Z_DIM, NUM_CLASSES, hidden_dim=8)  # .train() by default
    with pytest.raises(ValueError, match="eval"):
        interpolate_classes(generator, _z(2), 0, 1, 0.5)


def test_unconditional_generator_is_refused() -> None:
    generator = DCGANGenerator(Z_DIM, hidden_dim=8).eval()
    with pytest.raises(ValueError, match="conditional"):
        interpolate_classes(generator, _z(2), 0, 1, 0.5)


def test_class_code_shape_is_checked(onehot_g) -> None:
    with pytest.raises(ValueError, match="class_code"):
        run_with_class_code(onehot_g, _z(2), torch.zeros(3, NUM_CLASSES))


# ------------------------------------------------------------------ noise paths
@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_noise_path_endpoints_and_shapes(method) -> None:
    z0, z1 = _z(3, 1), _z(3, 2)
    path = noise_path(z0, z1, torch.linspace(0, 1, 6), method)
    assert path.shape == (3, 6, Z_DIM)
    assert torch.allclose(path[:, 0], z0, atol=1e-5)
    assert torch.allclose(path[:, -1], z1, atol=1e-5)
    single = noise_path(z0[0], z1[0], [0.0, 0.5, 1.0], method)
    assert single.shape == (3, Z_DIM)
    assert torch.allclose(single[1], noise_path(z0[:1], z1[:1], 0.5, method)[0, 0])


def test_slerp_keeps_the_norm_and_lerp_does_not() -> None:
    z0, z1 = _z(1, 3)[0], _z(1, 4)[0]
    z1 = z1 / z1.norm() * z0.norm()  # equal norms: slerp must stay on that sphere
    t = torch.linspace(0, 1, 21)
    slerp_norms = noise_path(z0, z1, t, "slerp").norm(dim=-1)
    lerp_norms = noise_path(z0, z1, t, "lerp").norm(dim=-1)
    assert torch.allclose(slerp_norms, torch.full_like(slerp_norms, float(z0.norm())), rtol=1e-5)
    assert lerp_norms[10] < 0.9 * z0.norm()  # the straight line cuts inside the sphere


def test_slerp_matches_the_great_circle_formula() -> None:
    e0, e1 = torch.eye(4)[0], torch.eye(4)[1]  # orthonormal: slerp = (cos, sin) of t * 90 degrees
    t = torch.tensor([0.0, 1 / 3, 0.5, 1.0])
    path = noise_path(e0, e1, t, "slerp")
    angle = t * math.pi / 2
    assert torch.allclose(path[:, 0], torch.cos(angle), atol=1e-6)
    assert torch.allclose(path[:, 1], torch.sin(angle), atol=1e-6)


def test_noise_path_rejects_unknown_method_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="method"):
        noise_path(_z(1)[0], _z(1)[0], 0.5, "cubic")
    with pytest.raises(ValueError, match="same shape"):
        noise_path(_z(2), _z(3), 0.5)
    with pytest.raises(ValueError, match="fractions"):
        noise_path(_z(2), _z(2), 1.5)


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_noise_interpolation_endpoints_are_the_pure_noise_images(onehot_g, method) -> None:
    z0, z1 = _z(2, 5), _z(2, 6)
    labels = torch.tensor([3, 8])
    frames = interpolate_noise(onehot_g, z0, z1, [0.0, 0.5, 1.0], labels, method)
    assert frames.shape == (2, 3, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(frames[:, 0], onehot_g(z0, labels), atol=1e-5)
        assert torch.allclose(frames[:, -1], onehot_g(z1, labels), atol=1e-5)
    assert (frames[:, 1] - frames[:, 0]).abs().max() > 1e-3


def test_noise_interpolation_int_label_and_label_checks(onehot_g) -> None:
    z0, z1 = _z(2, 5), _z(2, 6)
    by_int = interpolate_noise(onehot_g, z0, z1, 0.4, 6)
    by_tensor = interpolate_noise(onehot_g, z0, z1, 0.4, torch.tensor([6, 6]))
    assert torch.equal(by_int, by_tensor)
    with pytest.raises(ValueError, match="one class per noise row"):
        interpolate_noise(onehot_g, z0, z1, 0.4, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="0..9"):
        interpolate_noise(onehot_g, z0, z1, 0.4, 12)


def test_lerp_and_slerp_differ_in_the_middle(onehot_g) -> None:
    z0, z1 = _z(1, 5), _z(1, 6)
    lerp_mid = interpolate_noise(onehot_g, z0, z1, 0.5, 1, "lerp")
    slerp_mid = interpolate_noise(onehot_g, z0, z1, 0.5, 1, "slerp")
    assert (lerp_mid - slerp_mid).abs().max() > 1e-3


# ------------------------------------------------------------------- truncation
def _truncated_normal_variance(t: float) -> float:
    density = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(t / math.sqrt(2))
    return 1 - 2 * t * density / mass


@pytest.mark.parametrize("method", ["quantile", "resample"])
@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_truncated_noise_follows_the_truncated_normal(method, t) -> None:
    z = truncated_noise(2000, 64, t, seed=1, method=method)
    assert z.shape == (2000, 64) and z.dtype == torch.float32
    assert z.abs().max() <= t
    assert abs(float(z.mean())) < 0.01
    assert abs(float(z.var()) - _truncated_normal_variance(t)) < 0.01


@pytest.mark.parametrize("method", ["quantile", "resample"])
def test_truncated_noise_is_deterministic_with_a_seed(method) -> None:
    a = truncated_noise(4, Z_DIM, 0.8, seed=3, method=method)
    b = truncated_noise(4, Z_DIM, 0.8, seed=3, method=method)
    c = truncated_noise(4, Z_DIM, 0.8, seed=4, method=method)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_resample_method_redraws_as_biggan() -> None:
    # Reference: draw N(0, I), then redraw every entry outside [-t, t] from the same generator.
    rng = torch.Generator().manual_seed(9)
    expected = torch.randn(3, Z_DIM, generator=rng)
    while (outside := expected.abs() > 0.7).any():
        expected[outside] = torch.randn(int(outside.sum()), generator=rng)
    assert torch.equal(truncated_noise(3, Z_DIM, 0.7, seed=9, method="resample"), expected)


def test_quantile_noise_moves_smoothly_with_the_truncation() -> None:
    a = truncated_noise(8, 64, 1.00, seed=0)
    b = truncated_noise(8, 64, 1.02, seed=0)
    assert (a - b).abs().max() < 0.05  # every entry moves a little, none jumps
    wide = truncated_noise(8, 64, 50.0, seed=0)
    u = torch.rand(8, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.allclose(wide, torch.special.ndtri(u).float(), atol=1e-5)  # untruncated limit


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "1"])
def test_truncation_must_be_positive(bad) -> None:
    with pytest.raises(ValueError, match="truncation"):
        truncated_noise(2, Z_DIM, bad)


def test_truncation_unknown_method_raises() -> None:
    with pytest.raises(ValueError, match="method"):
        truncated_noise(2, Z_DIM, 1.0, method="clip")


def test_truncation_samples_are_reproducible_and_shrink_diversity(onehot_g) -> None:
    labels = torch.arange(NUM_CLASSES).repeat(3)
    a = truncation_samples(onehot_g, 1.0, labels, seed=2)
    assert a.shape == (30, 1, 28, 28)
    assert torch.equal(a, truncation_samples(onehot_g, 1.0, labels, seed=2))
    tight = truncation_samples(onehot_g, 0.05, labels[:10].repeat_interleave(3), seed=2)
    loose = truncation_samples(onehot_g, 3.0, labels[:10].repeat_interleave(3), seed=2)
    assert sample_diversity(tight[:3]) < sample_diversity(loose[:3])
    with pytest.raises(ValueError, match="labels"):
        truncation_samples(onehot_g, 1.0, [0, 1])


def test_acgan_noise_walk_and_truncation(acgan_g) -> None:
    # The one-hot entries of the ACGAN's noise are overwritten by the class, so only the
    # remaining entries move the picture: a walk between two noises differing in them changes it.
    z0, z1 = _z(1, 1), _z(1, 2)
    frames = interpolate_noise(acgan_g, z0, z1, [0.0, 0.5, 1.0], 4, "slerp")
    assert frames.shape == (1, 3, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(frames[0, 0], acgan_g(z0, torch.tensor([4]))[0], atol=1e-6)
    assert (frames[0, 1] - frames[0, 0]).abs().max() > 1e-3
    images = truncation_samples(acgan_g, 0.5, torch.arange(NUM_CLASSES), seed=0)
    assert images.shape == (NUM_CLASSES, 3, 32, 32)


def test_sample_diversity() -> None:
    x = torch.zeros(3, 1, 4, 4)
    assert sample_diversity(x) == 0.0
    x[0] = 1.0  # image 0 differs from the other two by 1 in every pixel: 4 of 6 pairs
    assert sample_diversity(x) == pytest.approx(4 / 6)
    with pytest.raises(ValueError):
        sample_diversity(x[:1])


# --------------------------------------------------------------------- figures
def test_plot_filmstrip_labels_and_checks() -> None:
    frames = torch.rand(2, 4, 1, 28, 28) * 2 - 1
    ax = plot_filmstrip(frames, col_labels=["0", "1/3", "2/3", "1"], row_labels=["a", "b"], title="t")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1/3", "2/3", "1"]
    assert len(ax.get_yticklabels()) == 2
    assert ax.get_images()[0].get_array().shape[:2] == (2 + 2 * 30, 2 + 4 * 30)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="col_labels"):
        plot_filmstrip(frames, col_labels=["x"])
    with pytest.raises(ValueError, match="rows, cols"):
        plot_filmstrip(frames[0])


def test_switch_fractions_interpolates_between_frames() -> None:
    from ganlib.interpolation import switch_fractions

    f = [0.0, 0.25, 0.5, 0.75, 1.0]
    p = torch.tensor([[0.0, 0.2, 0.4, 0.6, 0.9],    # crosses 0.5 halfway between 0.5 and 0.75
                      [0.7, 0.8, 0.9, 0.9, 0.9],    # already switched at the start
                      [0.1, 0.1, 0.2, 0.3, 0.4],    # never switches
                      [0.0, 0.6, 0.2, 0.9, 1.0]])   # the first crossing counts, not the last
    got = switch_fractions(f, p)
    assert got[0].item() == pytest.approx(0.625)
    assert got[1].item() == 0.0
    assert math.isnan(got[2].item())
    assert got[3].item() == pytest.approx(0.25 * 0.5 / 0.6)
    assert switch_fractions(f, p, level=0.9)[0].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape"):
        switch_fractions(f, p[:, :3])
    with pytest.raises(ValueError, match="increase"):
        switch_fractions([0.0, 0.5, 0.5, 0.75, 1.0], p)
