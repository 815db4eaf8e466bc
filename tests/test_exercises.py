"""Every exercise check passes on a right answer and fails, with the right message, on wrong ones.

For each check in ganlib.exercises: a reference solution (written here, independently of the
notebooks' solutions, which tests/test_learner_notebooks.py covers), an unwritten body
(`raise NotImplementedError()` and `...`), and the typical mistakes a learner makes.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlib import exercises as ex


def _fails(check, fn, fragment: str) -> None:
    with pytest.raises(ex.ExerciseError) as info:
        check(fn)
    assert fragment.lower() in str(info.value).lower(), f"message was: {info.value}"


def not_written(*args, **kwargs):
    raise NotImplementedError()


def ellipsis_body(*args, **kwargs):
    ...


ALL_CHECKS = [getattr(ex, name) for name in ex.__all__ if name.startswith("check_")]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_every_check_fails_on_an_unwritten_body(check) -> None:
    _fails(check, not_written, "not implemented yet")


@pytest.mark.parametrize("check", [c for c in ALL_CHECKS if c is not ex.check_init_weights],
                         ids=lambda c: c.__name__)
def test_every_check_fails_on_an_ellipsis_body(check) -> None:
    _fails(check, ellipsis_body, "returned None")


def test_init_weights_fails_on_an_ellipsis_body() -> None:
    _fails(ex.check_init_weights, ellipsis_body, "N(0, 0.02)")


# ------------------------------------------------------------------ 01: noise and blocks

def sample_noise(n, z_dim, device="cpu"):
    return torch.randn(n, z_dim, device=device)


def test_noise(capsys) -> None:
    ex.check_sample_noise(sample_noise)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_sample_noise, lambda n, z_dim, device="cpu": torch.rand(n, z_dim, device=device), "torch.rand")
    _fails(ex.check_sample_noise, lambda n, z_dim, device="cpu": torch.randn(z_dim, n, device=device), "shape")
    _fails(ex.check_sample_noise, lambda n, z_dim, device="cpu": 2 * torch.randn(n, z_dim, device=device),
           "standard deviation")
    _fails(ex.check_sample_noise, lambda n, z_dim, device="cpu": torch.randn(n, z_dim), "device")
    _fails(ex.check_sample_noise,
           lambda n, z_dim, device="cpu": torch.randn(n, z_dim, generator=torch.Generator().manual_seed(0)),
           "same noise")


def generator_block(i, o):
    return nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.ReLU(inplace=True))


def discriminator_block(i, o):
    return nn.Sequential(nn.Linear(i, o), nn.LeakyReLU(0.2, inplace=True))


def test_generator_block(capsys) -> None:
    ex.check_generator_block(generator_block)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_generator_block, lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU()), "3 parts")
    _fails(ex.check_generator_block, lambda i, o: nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o), nn.LeakyReLU(0.2)),
           "ReLU")
    _fails(ex.check_generator_block, lambda i, o: nn.Sequential(nn.Linear(o, i), nn.BatchNorm1d(o), nn.ReLU()),
           "in_features")
    _fails(ex.check_generator_block, lambda i, o: nn.Sequential(nn.BatchNorm1d(i), nn.Linear(i, o), nn.ReLU()),
           "start with nn.Linear")


def test_discriminator_block(capsys) -> None:
    ex.check_discriminator_block(discriminator_block)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_discriminator_block, lambda i, o: nn.Sequential(nn.Linear(i, o), nn.BatchNorm1d(o),
                                                                    nn.LeakyReLU(0.2)), "batchnorm")
    _fails(ex.check_discriminator_block, lambda i, o: nn.Sequential(nn.Linear(i, o), nn.ReLU()), "LeakyReLU")
    _fails(ex.check_discriminator_block, lambda i, o: nn.Sequential(nn.Linear(i, o), nn.LeakyReLU()), "0.2")
    _fails(ex.check_discriminator_block, lambda i, o: nn.Linear(i, o), "2 parts")


# ------------------------------------------------------------------ 01: losses and the step

def d_loss(G, D, x_real, z):
    logits_fake = D(G(z).detach())
    logits_real = D(x_real)
    return (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))) / 2


def g_loss(G, D, z):
    logits = D(G(z))
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


def _bce(x, target):
    return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))


def test_discriminator_loss(capsys) -> None:
    ex.check_discriminator_loss(d_loss)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_discriminator_loss, lambda G, D, x, z: _bce(D(x), 1) + _bce(D(G(z).detach()), 0), "average")
    _fails(ex.check_discriminator_loss, lambda G, D, x, z: (_bce(D(x), 0) + _bce(D(G(z).detach()), 1)) / 2, "swapped")
    _fails(ex.check_discriminator_loss, lambda G, D, x, z: (_bce(D(x), 1) + _bce(D(G(z)), 0)) / 2, "detach")
    _fails(ex.check_discriminator_loss,
           lambda G, D, x, z: (_bce(torch.sigmoid(D(x)), 1) + _bce(torch.sigmoid(D(G(z).detach())), 0)) / 2,
           "no sigmoid")
    _fails(ex.check_discriminator_loss, lambda G, D, x, z: _bce(D(x), 1), "only used the real")
    _fails(ex.check_discriminator_loss,
           lambda G, D, x, z: (F.binary_cross_entropy_with_logits(D(x), torch.ones_like(D(x)), reduction="none")
                               + _bce(D(G(z).detach()), 0)) / 2, "0-d tensor")


def test_discriminator_loss_flags_hard_coded_cuda() -> None:
    namespace = {"torch": torch, "F": F}
    # A file-backed function, so inspect.getsource can read it (as in a notebook).
    source = ("def d_loss_cuda(G, D, x_real, z):\n"
              "    if False:\n        x_real = x_real.cuda()\n"
              "    lf, lr = D(G(z).detach()), D(x_real)\n"
              "    return (F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr))\n"
              "            + F.binary_cross_entropy_with_logits(lf, torch.zeros_like(lf))) / 2\n")
    import linecache
    filename = "<exercise-cuda-test>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    _fails(ex.check_discriminator_loss, namespace["d_loss_cuda"], "hard-codes CUDA")


def test_generator_loss(capsys) -> None:
    ex.check_generator_loss(g_loss)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_generator_loss, lambda G, D, z: _bce(D(G(z)), 0), "ones")
    _fails(ex.check_generator_loss, lambda G, D, z: -_bce(D(G(z)), 0), "saturating")
    _fails(ex.check_generator_loss, lambda G, D, z: _bce(D(G(z).detach()), 1), "don't detach")
    _fails(ex.check_generator_loss, lambda G, D, z: _bce(torch.sigmoid(D(G(z))), 1), "no sigmoid")


def train_step(G, D, opt_g, opt_d, x_real, z):
    opt_d.zero_grad()
    loss_d = d_loss(G, D, x_real, z)
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    loss_g = g_loss(G, D, z)
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def step_without_g_update(G, D, opt_g, opt_d, x_real, z):
    opt_d.zero_grad()
    loss_d = d_loss(G, D, x_real, z)
    loss_d.backward()
    opt_d.step()
    return loss_d.item(), g_loss(G, D, z).item()


def step_g_first(G, D, opt_g, opt_d, x_real, z):
    opt_g.zero_grad()
    loss_g = g_loss(G, D, z)
    loss_g.backward()
    opt_g.step()
    opt_d.zero_grad()
    loss_d = d_loss(G, D, x_real, z)
    loss_d.backward()
    opt_d.step()
    return loss_d.item(), loss_g.item()


def step_without_zero_grad(G, D, opt_g, opt_d, x_real, z):
    loss_d = d_loss(G, D, x_real, z)
    loss_d.backward()
    opt_d.step()
    loss_g = g_loss(G, D, z)
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def step_g_loss_steps_d_too(G, D, opt_g, opt_d, x_real, z):
    opt_d.zero_grad()
    loss_d = d_loss(G, D, x_real, z)
    loss_d.backward()
    opt_d.step()
    opt_g.zero_grad()
    opt_d.zero_grad()
    loss_g = g_loss(G, D, z)
    loss_g.backward()
    opt_g.step()
    opt_d.step()
    return loss_d.item(), loss_g.item()


def test_train_step(capsys) -> None:
    ex.check_train_step(train_step)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_train_step, step_without_g_update, "G's first-layer weights did not change")
    _fails(ex.check_train_step, step_g_first, "differ from the reference")
    _fails(ex.check_train_step, step_without_zero_grad, "zero_grad")
    _fails(ex.check_train_step, step_g_loss_steps_d_too, "step only opt_g")
    _fails(ex.check_train_step, lambda *a: train_step(*a)[::-1], "in that order")


# ------------------------------------------------------------------ 01: the whole networks

def build_generator(z_dim=64, im_dim=784, hidden_dim=128):
    return nn.Sequential(generator_block(z_dim, hidden_dim), generator_block(hidden_dim, hidden_dim * 2),
                         generator_block(hidden_dim * 2, hidden_dim * 4),
                         generator_block(hidden_dim * 4, hidden_dim * 8), nn.Linear(hidden_dim * 8, im_dim),
                         nn.Sigmoid())


def build_discriminator(im_dim=784, hidden_dim=128):
    return nn.Sequential(discriminator_block(im_dim, hidden_dim * 4),
                         discriminator_block(hidden_dim * 4, hidden_dim * 2),
                         discriminator_block(hidden_dim * 2, hidden_dim), nn.Linear(hidden_dim, 1))


def test_build_generator(capsys) -> None:
    ex.check_build_generator(build_generator)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: build_generator(
        z_dim, im_dim, hidden_dim)[:-1], "sigmoid")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *build_generator(z_dim, im_dim, hidden_dim)[:-1], nn.Tanh()), "sigmoid")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *build_generator(z_dim, im_dim, hidden_dim)[:4], generator_block(hidden_dim * 8, hidden_dim * 16),
        nn.Linear(hidden_dim * 16, im_dim), nn.Sigmoid()), "a block too many")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *build_generator(z_dim, im_dim, hidden_dim)[:3], nn.Linear(hidden_dim * 4, im_dim), nn.Sigmoid()),
        "a block too few")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *build_generator(z_dim, im_dim, hidden_dim)[:4], generator_block(hidden_dim * 8, im_dim), nn.Sigmoid()),
        "no BatchNorm")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        generator_block(z_dim, hidden_dim), generator_block(hidden_dim, hidden_dim * 2),
        generator_block(hidden_dim * 2, hidden_dim * 3), generator_block(hidden_dim * 3, hidden_dim * 4),
        nn.Linear(hidden_dim * 4, im_dim), nn.Sigmoid()), "wrong hidden sizes")
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: build_generator(),
           "use the arguments")
    # every layer right, but unpacked out of the blocks: ganlib's state dict does not load
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *[layer for part in build_generator(z_dim, im_dim, hidden_dim) for layer in (
            part if isinstance(part, nn.Sequential) else [part])]), "do not load")
    # BatchNorm before the Linear in each block: same counts, other outputs
    _fails(ex.check_build_generator, lambda z_dim=64, im_dim=784, hidden_dim=128: nn.Sequential(
        *[nn.Sequential(nn.Linear(i, o), nn.ReLU(), nn.BatchNorm1d(o)) for i, o in (
            (z_dim, hidden_dim), (hidden_dim, 2 * hidden_dim), (2 * hidden_dim, 4 * hidden_dim),
            (4 * hidden_dim, 8 * hidden_dim))], nn.Linear(hidden_dim * 8, im_dim), nn.Sigmoid()), "do not load")


def test_build_discriminator(capsys) -> None:
    ex.check_build_discriminator(build_discriminator)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: nn.Sequential(
        *build_discriminator(im_dim, hidden_dim), nn.Sigmoid()), "no sigmoid")
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: nn.Sequential(
        *build_discriminator(im_dim, hidden_dim)[:3], discriminator_block(hidden_dim, 1)), "not a discriminator block")
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: nn.Sequential(
        discriminator_block(im_dim, hidden_dim * 8), *build_discriminator(hidden_dim * 8, hidden_dim)),
        "a block too many")
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: nn.Sequential(
        nn.Sequential(nn.Linear(im_dim, hidden_dim * 4), nn.BatchNorm1d(hidden_dim * 4), nn.LeakyReLU(0.2)),
        *build_discriminator(im_dim, hidden_dim)[1:]), "batchnorm")
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: nn.Sequential(
        discriminator_block(im_dim, hidden_dim), discriminator_block(hidden_dim, hidden_dim * 2),
        discriminator_block(hidden_dim * 2, hidden_dim * 4), nn.Linear(hidden_dim * 4, 1)), "wrong hidden sizes")
    _fails(ex.check_build_discriminator, lambda im_dim=784, hidden_dim=128: build_discriminator(), "use the arguments")


def test_networks_or_reference_takes_the_learners_networks_only_when_they_pass() -> None:
    G, D, whose = ex.networks_or_reference(build_generator, build_discriminator)
    assert whose.startswith("yours")
    assert G(torch.randn(4, 64)).shape == (4, 1, 28, 28) and D(torch.rand(4, 1, 28, 28)).shape == (4, 1)
    G, D, whose = ex.networks_or_reference(not_written, build_discriminator)
    assert whose.startswith("ganlib's")
    assert G(torch.randn(4, 64)).shape == (4, 1, 28, 28) and D(torch.rand(4, 1, 28, 28)).shape == (4, 1)


# ------------------------------------------------------------------ 02

def test_conv_transpose_output_size(capsys) -> None:
    ex.check_conv_transpose_output_size(lambda s, k, st, p=0: (s - 1) * st - 2 * p + k)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_conv_transpose_output_size, lambda s, k, st, p=0: (s + 2 * p - k) // st + 1, "ordinary")
    _fails(ex.check_conv_transpose_output_size, lambda s, k, st, p=0: (s - 1) * st + k, "padding")
    _fails(ex.check_conv_transpose_output_size, lambda s, k, st, p=0: s * st, "kernel")
    _fails(ex.check_conv_transpose_output_size, lambda s, k, st, p=0: float((s - 1) * st - 2 * p + k), "int")


def init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    if isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def test_init_weights(capsys) -> None:
    ex.check_init_weights(init_weights)
    assert capsys.readouterr().out == "Success!\n"

    def bn_at_zero(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)

    def wide(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.2)

    def only_transposed(m):
        if isinstance(m, nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def bias_kept(m):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)

    _fails(ex.check_init_weights, bn_at_zero, "centre it on 1")
    _fails(ex.check_init_weights, wide, "N(0, 0.02)")
    _fails(ex.check_init_weights, only_transposed, "Conv2d weights")
    _fails(ex.check_init_weights, bias_kept, "shift (bias) to 0")


class LeastSquares:
    def d(self, real, fake):
        return 0.5 * F.mse_loss(real, torch.ones_like(real)) + 0.5 * F.mse_loss(fake, torch.zeros_like(fake))

    def g(self, fake):
        return 0.5 * F.mse_loss(fake, torch.ones_like(fake))


def _least_squares(d, g):
    return type("Wrong", (), {"d": lambda self, r, f: d(r, f), "g": lambda self, f: g(f)})()


def test_least_squares_loss(capsys) -> None:
    ex.check_least_squares_loss(LeastSquares())
    ex.check_least_squares_loss(LeastSquares)  # a class is made first
    assert capsys.readouterr().out == "Success!\nSuccess!\n"
    right_d, right_g = LeastSquares().d, LeastSquares().g
    _fails(ex.check_least_squares_loss, _least_squares(lambda r, f: right_d(f, r), right_g), "swapped")
    _fails(ex.check_least_squares_loss,
           _least_squares(lambda r, f: ((r - 1) ** 2).mean() + (f ** 2).mean(), right_g), "factor 1/2")
    _fails(ex.check_least_squares_loss,
           _least_squares(lambda r, f: right_d(torch.sigmoid(r), torch.sigmoid(f)), right_g), "no sigmoid")
    _fails(ex.check_least_squares_loss,
           _least_squares(lambda r, f: 0.5 * ((r - 1) ** 2).sum() + 0.5 * (f ** 2).sum(), right_g), "not sum")
    _fails(ex.check_least_squares_loss,
           _least_squares(lambda r, f: 0.5 * ((r - 1) ** 2) + 0.5 * (f ** 2), right_g), "0-d tensor")
    _fails(ex.check_least_squares_loss, _least_squares(right_d, lambda f: 0.5 * (f ** 2).mean()), "target 1")
    _fails(ex.check_least_squares_loss, _least_squares(right_d, lambda f: ((f - 1) ** 2).mean()), "factor 1/2")
    _fails(ex.check_least_squares_loss,
           _least_squares(right_d, lambda f: right_g(torch.sigmoid(f))), "no sigmoid")
    _fails(ex.check_least_squares_loss, _least_squares(right_d, lambda f: -0.5 * (f ** 2).mean()), "not minus")
    _fails(ex.check_least_squares_loss,
           _least_squares(lambda r, f: right_d(r, f).detach(), right_g), "no gradient")
    _fails(ex.check_least_squares_loss, object(), "methods d(")
    _fails(ex.check_least_squares_loss, _least_squares(lambda r, f: None, right_g), "returned None")


# ------------------------------------------------------------------ 03

def test_nearest_centre(capsys) -> None:
    ex.check_nearest_centre(lambda p, c: torch.cdist(p, c).argmin(1))
    ex.check_nearest_centre(lambda p, c: ((p[:, None] - c[None]) ** 2).sum(-1).argmin(1))
    assert capsys.readouterr().out == "Success!\nSuccess!\n"
    _fails(ex.check_nearest_centre, lambda p, c: torch.cdist(p, c).argmax(1), "farthest")
    _fails(ex.check_nearest_centre, lambda p, c: (p @ c.T).argmax(1), "dot product")
    _fails(ex.check_nearest_centre, lambda p, c: torch.cdist(p, c).argmin(0), "shape")
    _fails(ex.check_nearest_centre, lambda p, c: torch.cdist(p, c).argmin(1).int(), "int64")
    _fails(ex.check_nearest_centre, lambda p, c: torch.cdist(p, c).min(1).values, "int64")
    _fails(ex.check_nearest_centre, lambda p, c: torch.cdist(p[:, :3], c[:, :3]).argmin(1), "nearest centre")


def test_one_hot(capsys) -> None:
    ex.check_one_hot(lambda labels, c: F.one_hot(labels, c).float())
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_one_hot, lambda labels, c: F.one_hot(labels, c), "floats")
    _fails(ex.check_one_hot, lambda labels, c: F.one_hot(labels).float(), "num_classes")
    _fails(ex.check_one_hot, lambda labels, c: F.one_hot(labels, c).float().T, "shape")
    _fails(ex.check_one_hot, lambda labels, c: F.one_hot((labels + 1) % c, c).float(), "single 1")


def test_combine_vectors(capsys) -> None:
    ex.check_combine_vectors(lambda x, y: torch.cat([x.float(), y.float()], dim=1))
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_combine_vectors, lambda x, y: torch.cat([x.float(), y.float()], dim=0), "dimension 1")
    _fails(ex.check_combine_vectors, lambda x, y: torch.cat([x.double(), y.double()], dim=1), "float")
    _fails(ex.check_combine_vectors, lambda x, y: torch.cat([y.float(), x.float()], dim=1), "x must come first")
    _fails(ex.check_combine_vectors, lambda x, y: torch.cat([x.float(), y.float()], dim=-1), "(2, 11, 6, 6)")


def test_input_dims(capsys) -> None:
    ex.check_input_dims(lambda z_dim, shape, c: (z_dim + c, shape[0] + c))
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_input_dims, lambda z_dim, shape, c: (shape[0] + c, z_dim + c), "swapped")
    _fails(ex.check_input_dims, lambda z_dim, shape, c: (z_dim, shape[0] + c), "z_dim + num_classes")
    _fails(ex.check_input_dims, lambda z_dim, shape, c: (z_dim + c, shape[0]), "one class map per class")
    _fails(ex.check_input_dims, lambda z_dim, shape, c: z_dim + c, "two numbers")


def _conditional_step(*, detach=True, maps_to_d=True, one_hot_to_g=True, real_twice=False, shuffle_fake_labels=False,
                      zero_grad=True, regenerate=False):
    """A learner's conditional step (DeepLearning.AI's layout: G and D read combined inputs); flags make it wrong."""

    def step(G, D, opt_g, opt_d, x_real, labels, z, num_classes):
        one_hot = F.one_hot(labels, num_classes).float()
        maps = one_hot[:, :, None, None].expand(-1, -1, *x_real.shape[2:])
        fake_labels = labels.flip(0) if shuffle_fake_labels else labels
        fake_maps = F.one_hot(fake_labels, num_classes).float()[:, :, None, None].expand_as(maps)
        g_in = torch.cat([z, one_hot], 1) if one_hot_to_g else z

        def d(x, m):
            return D(torch.cat([x, m], 1) if maps_to_d else x)

        if zero_grad:
            opt_d.zero_grad()
        x_fake = G(g_in)
        logits_fake = d(x_real if real_twice else (x_fake.detach() if detach else x_fake), fake_maps)
        logits_real = d(x_real, maps)
        loss_d = (_bce(logits_real, 1.0) + _bce(logits_fake, 0.0)) / 2
        loss_d.backward()
        opt_d.step()
        if zero_grad:
            opt_g.zero_grad()
        logits = d(G(g_in) if regenerate else x_fake, fake_maps)
        loss_g = _bce(logits, 1.0)
        loss_g.backward()
        opt_g.step()
        return loss_d.detach(), loss_g.detach()

    return step


def test_conditional_train_step(capsys) -> None:
    ex.check_conditional_train_step(_conditional_step())
    ex.check_conditional_train_step(_conditional_step(regenerate=True))  # fresh fakes for G: the same step
    assert capsys.readouterr().out == "Success!\nSuccess!\n"
    check = ex.check_conditional_train_step
    _fails(check, _conditional_step(detach=False), "detach")
    _fails(check, _conditional_step(detach=False, regenerate=True), "detach")
    _fails(check, _conditional_step(maps_to_d=False), "labels were not passed")
    _fails(check, _conditional_step(one_hot_to_g=False), "labels were not passed")
    _fails(check, _conditional_step(real_twice=True), "real and fake are the same")
    _fails(check, _conditional_step(shuffle_fake_labels=True), "the label it was drawn for")
    _fails(check, _conditional_step(zero_grad=False), "zero_grad")
    _fails(check, lambda *a: _conditional_step()(*a)[::-1], "in that order")


# ------------------------------------------------------------------ 04

def gradient_penalty(critic, x_real, x_fake):
    eps = torch.rand(x_real.shape[0], 1, 1, 1, device=x_real.device)
    x_hat = (eps * x_real + (1 - eps) * x_fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _gp_variant(*, eps_shape=None, square=True, per_sample=True, create_graph=True, norm_sq=False, minus_one=True):
    def penalty(critic, x_real, x_fake):
        shape = eps_shape(x_real) if eps_shape else (x_real.shape[0], 1, 1, 1)
        eps = torch.rand(shape)
        x_hat = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
        norm = grad.flatten(1).norm(dim=1) if per_sample else grad.norm()
        if norm_sq:
            norm = norm ** 2
        value = norm - 1 if minus_one else norm
        return (value ** 2).mean() if square else value.mean()
    return penalty


def test_gradient_penalty(capsys) -> None:
    ex.check_gradient_penalty(gradient_penalty)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_gradient_penalty, _gp_variant(square=False), "square the difference")
    _fails(ex.check_gradient_penalty, _gp_variant(per_sample=False), "one gradient norm per sample")
    _fails(ex.check_gradient_penalty, _gp_variant(norm_sq=True), "not its squared norm")
    _fails(ex.check_gradient_penalty, _gp_variant(create_graph=False), "create_graph=True")
    _fails(ex.check_gradient_penalty, _gp_variant(eps_shape=lambda x: x.shape), "one weight per image")
    _fails(ex.check_gradient_penalty, _gp_variant(eps_shape=lambda x: (1, 1, 1, 1)), "its own mixing weight")
    _fails(ex.check_gradient_penalty, lambda critic, x_real, x_fake: _gp_variant()(critic, x_real, x_real),
           "x_hat must mix")


def test_critic_and_generator_losses(capsys) -> None:
    ex.check_critic_loss(lambda r, f, gp, w: f.mean() - r.mean() + w * gp)
    ex.check_generator_wasserstein_loss(lambda f: -f.mean())
    assert capsys.readouterr().out == "Success!\nSuccess!\n"
    _fails(ex.check_critic_loss, lambda r, f, gp, w: r.mean() - f.mean() + w * gp, "sign")
    _fails(ex.check_critic_loss, lambda r, f, gp, w: f.mean() - r.mean() + gp, "gp_weight")
    _fails(ex.check_critic_loss, lambda r, f, gp, w: f.mean() - r.mean(), "add the gradient penalty")
    _fails(ex.check_critic_loss, lambda r, f, gp, w: (f - r + w * gp), "0-d")
    _fails(ex.check_generator_wasserstein_loss, lambda f: f.mean(), "sign")


def _critic_class(norm="layer", pool=True, strides=(1, 2, 1, 2, 1, 1, 1, 2), slope=0.1, fixed_width=None):
    """A critic built from notebook 04's table, with one mistake switched on by an argument."""

    class Critic(nn.Module):
        def __init__(self, num_classes=10, width=196):
            super().__init__()
            self.num_classes = num_classes
            width = fixed_width or width
            layers, size, c_in = [], 32, 3
            for s in strides:
                size //= s
                norm_layer = nn.LayerNorm([width, size, size]) if norm == "layer" else nn.BatchNorm2d(width)
                layers += [nn.Conv2d(c_in, width, 3, stride=s, padding=1), norm_layer, nn.LeakyReLU(slope)]
                c_in = width
            if pool:
                layers.append(nn.MaxPool2d(4, 4))
            self.features = nn.Sequential(*layers)
            self.fc1, self.fc10 = nn.Linear(width, 1), nn.Linear(width, num_classes)

        def forward(self, x):
            h = self.features(x).flatten(1)
            return self.fc1(h), self.fc10(h)

    return Critic


def _generator_class(padding=1, tanh=True, fixed_width=None, order="conv-bn-relu"):
    """A generator built from notebook 04's table, with one mistake switched on by an argument."""

    class Generator(nn.Module):
        def __init__(self, z_dim=128, width=196):
            super().__init__()
            self.z_dim = z_dim
            w = fixed_width or width
            self.fc = nn.Sequential(nn.Linear(z_dim, w * 16), nn.BatchNorm1d(w * 16), nn.ReLU())

            def block(layer):
                return [layer, nn.BatchNorm2d(w), nn.ReLU()] if order == "conv-bn-relu" else [layer, nn.ReLU(),
                                                                                              nn.BatchNorm2d(w)]

            def up():
                return block(nn.ConvTranspose2d(w, w, 4, stride=2, padding=padding))

            def same():
                return block(nn.Conv2d(w, w, 3, padding=1))

            last = [nn.Conv2d(w, 3, 3, padding=1)] + ([nn.Tanh()] if tanh else [])
            self.body = nn.Sequential(*up(), *same(), *same(), *same(), *up(), *same(), *up(), *last)

        def forward(self, z):
            return self.body(self.fc(z).view(z.shape[0], -1, 4, 4))

    return Generator


def test_critic_class(capsys) -> None:
    ex.check_critic_class(_critic_class())
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_critic_class, _critic_class(norm="batch"), "must not use BatchNorm")
    _fails(ex.check_critic_class, _critic_class(pool=False), "missing max-pool")
    _fails(ex.check_critic_class, _critic_class(strides=(2, 1, 2, 1, 1, 1, 1, 2)), "stride order")
    _fails(ex.check_critic_class, _critic_class(slope=0.2), "LeakyReLU(0.1)")
    _fails(ex.check_critic_class, _critic_class(fixed_width=196), "hard-code 196")


def test_critic_class_names_layers_that_do_not_load() -> None:
    class Renamed(_critic_class()):
        def __init__(self, num_classes=10, width=196):
            super().__init__(num_classes, width)
            self.score_head = self.fc1
            del self.fc1

        def forward(self, x):
            h = self.features(x).flatten(1)
            return self.score_head(h), self.fc10(h)

    _fails(ex.check_critic_class, Renamed, "do not load")


def test_generator_class(capsys) -> None:
    ex.check_generator_class(_generator_class())
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_generator_class, _generator_class(padding=0), "padding 0")
    _fails(ex.check_generator_class, _generator_class(tanh=False), "nn.Tanh()")
    _fails(ex.check_generator_class, _generator_class(fixed_width=196), "hard-code 196")
    _fails(ex.check_generator_class, _generator_class(order="conv-relu-bn"),
           "each convolution followed by BatchNorm2d and ReLU")


def test_checked_class_falls_back_to_ganlib(capsys) -> None:
    from ganlib.models import ACGANCritic

    yours = _critic_class()
    assert ex.checked_class(yours, ex.check_critic_class, ACGANCritic) is yours
    assert capsys.readouterr().out == ""  # the check's "Success!" is not shown
    assert ex.checked_class(not_written, ex.check_critic_class, ACGANCritic) is ACGANCritic
    assert "using ganlib's ACGANCritic" in capsys.readouterr().out


# ------------------------------------------------------------------ 05

def slerp(z0, z1, t):
    u0, u1 = z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True)
    omega = torch.arccos((u0 * u1).sum(-1, keepdim=True).clamp(-1, 1))
    so = torch.sin(omega)
    safe = torch.where(so.abs() < 1e-6, torch.ones_like(so), so)
    out = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / safe
    return torch.where(so.abs() < 1e-6, (1 - t) * z0 + t * z1, out)


def test_slerp(capsys) -> None:
    ex.check_slerp(slerp)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_slerp, lambda z0, z1, t: (1 - t) * z0 + t * z1, "that is lerp")

    def no_guard(z0, z1, t):
        u0, u1 = z0 / z0.norm(dim=-1, keepdim=True), z1 / z1.norm(dim=-1, keepdim=True)
        omega = torch.arccos((u0 * u1).sum(-1, keepdim=True).clamp(-1, 1))
        return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)

    def whole_batch_angle(z0, z1, t):
        omega = torch.arccos((z0 * z1).sum() / (z0.norm() * z1.norm()))
        return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)

    def swapped_weights(z0, z1, t):
        return slerp(z0, z1, 1 - t)

    _fails(ex.check_slerp, no_guard, "NaN")
    _fails(ex.check_slerp, whole_batch_angle, "angle per row")
    _fails(ex.check_slerp, swapped_weights, "at t=0 you must get z0")


def truncated_noise(n, z_dim, t):
    z = torch.randn(n, z_dim)
    outside = z.abs() > t
    while outside.any():
        z[outside] = torch.randn(int(outside.sum()))
        outside = z.abs() > t
    return z


def test_truncated_noise(capsys) -> None:
    ex.check_truncated_noise(truncated_noise)
    assert capsys.readouterr().out == "Success!\n"
    _fails(ex.check_truncated_noise, lambda n, d, t: torch.randn(n, d).clamp(-t, t), "clamping")
    _fails(ex.check_truncated_noise, lambda n, d, t: (2 * torch.rand(n, d) - 1) * t, "uniform")
    _fails(ex.check_truncated_noise, lambda n, d, t: torch.randn(n, d), "lie in [-t, t]")
    _fails(ex.check_truncated_noise, lambda n, d, t: truncated_noise(n, d, t) * 0.9, "std")
    _fails(ex.check_truncated_noise, lambda n, d, t: truncated_noise(d, n, t), "shape")


def test_truncated_normal_std_formula() -> None:
    z = truncated_noise(200_000, 1, 1.0)
    assert abs(z.std().item() - ex._truncated_normal_std(1.0)) < 0.005
    assert math.isclose(ex._truncated_normal_std(8.0), 1.0, rel_tol=1e-6)


def switch_point(fractions, p_end):
    """A learner's loop-based answer, unlike the batched reference it is checked against."""
    for j, (t, p) in enumerate(zip(fractions, p_end.tolist())):
        if p >= 0.5:
            if j == 0:
                return float(t)
            t0, p0 = fractions[j - 1], p_end[j - 1].item()
            return t0 + (0.5 - p0) / (p - p0) * (t - t0)
    return float("nan")


def test_switch_point(capsys) -> None:
    ex.check_switch_point(switch_point)
    assert capsys.readouterr().out == "Success!\n"

    def first_frame(fractions, p_end):
        above = [t for t, p in zip(fractions, p_end.tolist()) if p >= 0.5]
        return above[0] if above else float("nan")

    def last_crossing(fractions, p_end):
        crossings = [j for j in range(1, len(fractions)) if p_end[j - 1] < 0.5 <= p_end[j]]
        if p_end[0] >= 0.5 and not crossings:
            return float(fractions[0])
        if not crossings:
            return float("nan")
        j = crossings[-1]
        t0, t1, p0, p1 = fractions[j - 1], fractions[j], p_end[j - 1].item(), p_end[j].item()
        return t0 + (0.5 - p0) / (p1 - p0) * (t1 - t0)

    def never_is_zero(fractions, p_end):
        result = switch_point(fractions, p_end)
        return 0.0 if math.isnan(result) else result

    _fails(ex.check_switch_point, first_frame, "interpolate linearly")
    _fails(ex.check_switch_point, last_crossing, "first crossing")
    _fails(ex.check_switch_point, never_is_zero, "float('nan')")
    _fails(ex.check_switch_point, lambda f, p: 0.5, "switch is at")


def test_truncate_toward_mean(capsys) -> None:
    from ganlib.interpolation import truncate_toward_mean

    ex.check_truncate_toward_mean(truncate_toward_mean)
    assert capsys.readouterr().out == "Success!\n"

    def reference(z, psi, mean=None):
        mean = 0.0 if mean is None else mean
        return mean + psi * (z - mean)

    def in_place(z, psi, mean=None):
        return z.mul_(psi) if mean is None else z.sub_(mean).mul_(psi).add_(mean)

    _fails(ex.check_truncate_toward_mean, lambda z, psi, mean=None: reference(z, 1 - psi, mean), "wrong way round")
    _fails(ex.check_truncate_toward_mean, in_place, "in place")
    _fails(ex.check_truncate_toward_mean, lambda z, psi, mean=None: psi * z, "mean you were given is ignored")
    _fails(ex.check_truncate_toward_mean,
           lambda z, psi, mean=None: psi * z + (0.0 if mean is None else mean), "subtract the mean")
    _fails(ex.check_truncate_toward_mean,
           lambda z, psi, mean=None: reference(z, psi, z.mean(0) if mean is None else mean),
           "not the mean of this batch")
    _fails(ex.check_truncate_toward_mean, lambda z, psi, mean=None: reference(z, psi, mean).float(), "dtype")
    _fails(ex.check_truncate_toward_mean, lambda z, psi, mean=None: reference(z, psi, mean).flatten(), "same shape")
    _fails(ex.check_truncate_toward_mean,
           lambda z, psi, mean=None: reference(z, max(psi, 0.1), mean), "psi = 0 must give the mean")
