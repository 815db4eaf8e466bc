"""Checks for the notebooks' exercises: each one calls the learner's function.

Every ``check_*`` function takes the function the learner wrote, runs it on inputs whose
right answer is known (shapes, ranges, statistics of large random inputs, stand-in networks
with a known loss, reference values from :mod:`ganlib`), prints ``Success!`` when all holds,
and otherwise raises :class:`ExerciseError` with a message that names the likely mistake.
An unimplemented body (``raise NotImplementedError()``, ``...``, ``pass``) fails with a
message that says so. The checks never use the learner's code for anything else: the rest of
each notebook keeps using ganlib's reference implementations.

``tests/test_exercises.py`` shows that every check fails on typical wrong answers and passes
on a reference solution.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ExerciseError",
    "check_sample_noise",
    "check_generator_block",
    "check_discriminator_block",
    "check_discriminator_loss",
    "check_generator_loss",
    "check_train_step",
    "check_build_generator",
    "check_build_discriminator",
    "networks_or_reference",
    "check_conv_transpose_output_size",
    "check_init_weights",
    "check_least_squares_loss",
    "check_nearest_centre",
    "check_one_hot",
    "check_combine_vectors",
    "check_input_dims",
    "check_conditional_train_step",
    "check_gradient_penalty",
    "check_critic_loss",
    "check_generator_wasserstein_loss",
    "check_critic_class",
    "check_generator_class",
    "checked_class",
    "check_slerp",
    "check_truncated_noise",
    "check_switch_point",
    "check_truncate_toward_mean",
]


class ExerciseError(AssertionError):
    """A learner's function gave a wrong answer; the message says what is wrong."""


def _require(condition: bool, message: str) -> None:
    __tracebackhide__ = True  # IPython and pytest hide this frame: the learner sees the message
    if not condition:
        raise ExerciseError(message)


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", "your function")


def _call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the learner's function; turn an unwritten body into a clear failure."""
    __tracebackhide__ = True
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        raise ExerciseError(
            f"`{_name(fn)}` is not implemented yet: replace `raise NotImplementedError()` with your code."
        ) from None
    _require(result is not None or _returns_nothing_on_purpose(fn),
             f"`{_name(fn)}` returned None: did you forget the `return` statement (or leave `...` as the body)?")
    return result


def _returns_nothing_on_purpose(fn: Callable) -> bool:
    return getattr(fn, "_returns_none", False)


def _source(fn: Callable) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):  # defined with exec() or in C: nothing to inspect
        return ""


def _no_hard_coded_cuda(fn: Callable) -> None:
    code = _source(fn)
    _require(".cuda(" not in code and not re.search(r"""device\s*=\s*["']cuda""", code),
             f"`{_name(fn)}` hard-codes CUDA; use the device of the inputs (e.g. `device=x.device`) "
             "so it runs on any machine.")


def _scalar(value: Any, fn: Callable) -> torch.Tensor:
    _require(isinstance(value, torch.Tensor),
             f"`{_name(fn)}` must return a torch tensor, got {type(value).__name__}.")
    _require(value.dim() == 0,
             f"`{_name(fn)}` must return one number (a 0-d tensor), got shape {tuple(value.shape)}: "
             "take the mean over the batch.")
    return value


def _close(a: float, b: float, tol: float = 1e-5) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(b))


def _success() -> None:
    print("Success!")


# --------------------------------------------------------------------------- notebook 01

def check_sample_noise(fn: Callable) -> None:
    """Check ``fn(n, z_dim, device="cpu")``: standard normal noise of shape ``(n, z_dim)``."""
    z = _call(fn, 1000, 100)
    _require(isinstance(z, torch.Tensor), f"return a torch tensor, got {type(z).__name__}.")
    _require(tuple(z.shape) == (1000, 100),
             f"noise for n=1000, z_dim=100 must have shape (1000, 100), got {tuple(z.shape)}.")
    _require(z.is_floating_point(), f"noise must be floating point, got {z.dtype}.")
    _require(z.min() < 0, "all values are >= 0: that looks like torch.rand (uniform on [0, 1)); "
                          "use torch.randn (standard normal).")
    _require(abs(z.std().item() - 1) < 0.01,
             f"the standard deviation should be 1 (standard normal), got {z.std().item():.3f}.")
    _require(abs(z.mean().item()) < 0.01, f"the mean should be 0, got {z.mean().item():.3f}.")
    _require(not torch.equal(z, _call(fn, 1000, 100)), "two calls gave the same noise: it must be random.")
    # The "meta" device holds no data, so any machine can check that `device` is honoured.
    on_meta = _call(fn, 3, 5, device="meta")
    _require(on_meta.device.type == "meta",
             f"the noise must be created on the requested device (asked for 'meta', got {on_meta.device}): "
             "pass `device=device` to torch.randn.")
    _no_hard_coded_cuda(fn)
    _success()


def _parts(block: nn.Module, fn: Callable) -> list[nn.Module]:
    _require(isinstance(block, nn.Module), f"`{_name(fn)}` must return an nn.Module (e.g. nn.Sequential), "
                                           f"got {type(block).__name__}.")
    return list(block.children())


def _require_linear_first(parts: list[nn.Module], in_features: int, out_features: int) -> None:
    """The block's first part must be ``nn.Linear(in_features, out_features)``."""
    _require(isinstance(parts[0], nn.Linear), f"the block must start with nn.Linear, got {type(parts[0]).__name__}.")
    _require((parts[0].in_features, parts[0].out_features) == (in_features, out_features),
             f"the Linear layer must map in_features to out_features ({in_features} -> {out_features} here), "
             f"got {parts[0].in_features} -> {parts[0].out_features}.")


def check_generator_block(fn: Callable) -> None:
    """Check ``fn(in_features, out_features)``: Linear -> BatchNorm1d -> ReLU."""
    block = _call(fn, 25, 1000)
    parts = _parts(block, fn)
    kinds = [type(p).__name__ for p in parts]
    _require(len(parts) == 3, f"a generator block has 3 parts (Linear, BatchNorm1d, ReLU), got {kinds}.")
    _require_linear_first(parts, 25, 1000)
    _require(isinstance(parts[1], nn.BatchNorm1d),
             f"the second part must be nn.BatchNorm1d(out_features), got {kinds[1]}.")
    _require(parts[1].num_features == 1000, "BatchNorm1d must normalise the out_features outputs.")
    _require(type(parts[2]) is nn.ReLU, f"the generator block ends with nn.ReLU, got {kinds[2]}.")
    block.train()
    out = block(torch.randn(1000, 25))
    _require(tuple(out.shape) == (1000, 1000), f"output shape should be (1000, 1000), got {tuple(out.shape)}.")
    _require(out.min() >= 0, "a ReLU output has no negative values.")
    std = out.std().item()
    _require(0.55 < std < 0.65,
             f"on standard normal input the block's outputs should have std 0.55-0.65 (BatchNorm then ReLU), "
             f"got {std:.3f}.")
    _success()


def check_discriminator_block(fn: Callable) -> None:
    """Check ``fn(in_features, out_features)``: Linear -> LeakyReLU(0.2), no BatchNorm."""
    block = _call(fn, 25, 5000)
    parts = _parts(block, fn)
    kinds = [type(p).__name__ for p in parts]
    _require(not any(isinstance(p, (nn.BatchNorm1d, nn.BatchNorm2d)) for p in parts),
             "Don't use batchnorm here: the discriminator block is Linear -> LeakyReLU(0.2).")
    _require(len(parts) == 2, f"a discriminator block has 2 parts (Linear, LeakyReLU), got {kinds}.")
    _require_linear_first(parts, 25, 5000)
    _require(isinstance(parts[1], nn.LeakyReLU),
             f"the discriminator block ends with nn.LeakyReLU(0.2), got {kinds[1]}.")
    _require(abs(parts[1].negative_slope - 0.2) < 1e-9,
             f"use a negative slope of 0.2: nn.LeakyReLU(0.2), got {parts[1].negative_slope}.")
    with torch.no_grad():
        out = block(torch.randn(1000, 25))
    ratio = (-out.min() / out.max()).item()
    _require(0.1 < ratio < 0.3, f"-min/max of the outputs should be 0.1-0.3 (slope 0.2), got {ratio:.3f}.")
    _require(0.3 < out.std().item() < 0.5, f"output std should be 0.3-0.5, got {out.std().item():.3f}.")
    _success()


class _OnesGenerator(nn.Module):
    """Stand-in generator: every fake is ``scale * ones(4)``, scale a parameter (starts at 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.ones(z.shape[0], 4, device=z.device)


class _MeanDiscriminator(nn.Module):
    """Stand-in discriminator: the logit is ``weight * mean(x) + bias``."""

    def __init__(self, weight: float = 2.0, bias: float = -0.5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(weight))
        self.bias = nn.Parameter(torch.tensor(bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x.flatten(1).mean(1, keepdim=True) + self.bias


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def check_discriminator_loss(fn: Callable) -> None:
    """Check ``fn(G, D, x_real, z)``: BCE-with-logits, reals 1, detached fakes 0, averaged."""
    G, D = _OnesGenerator(), _MeanDiscriminator()
    x_real = torch.linspace(-1.0, 2.0, 24).reshape(6, 4)
    z = torch.randn(6, 3)
    loss = _scalar(_call(fn, G, D, x_real, z), fn)
    with torch.no_grad():
        real, fake = D(x_real), D(G(z))
        expected = (0.5 * (_bce(real, 1) + _bce(fake, 0))).item()
        value = loss.item()
        mistakes = {
            "average the two terms: (loss on reals + loss on fakes) / 2.": (_bce(real, 1) + _bce(fake, 0)).item(),
            "real images are labelled 1 and fakes 0; your labels are swapped.":
                (0.5 * (_bce(real, 0) + _bce(fake, 1))).item(),
            "D returns logits: pass them straight to binary_cross_entropy_with_logits (no sigmoid first), "
            "or use BCE on sigmoid(logits), not both.":
                (0.5 * (_bce(torch.sigmoid(real), 1) + _bce(torch.sigmoid(fake), 0))).item(),
            "the loss needs both terms; you only used the real images.": _bce(real, 1).item(),
            "the loss needs both terms; you only used the fakes.": _bce(fake, 0).item(),
        }
    for message, wrong in mistakes.items():
        _require(not _close(value, wrong), message)
    _require(_close(value, expected), f"with stand-in networks the loss should be {expected:.5f}, got {value:.5f}.")
    _require(loss.requires_grad,
             "the loss carries no gradient: don't compute it under torch.no_grad() or from .item().")
    loss.backward()
    _require(G.scale.grad is None,
             "the discriminator's loss must not reach the generator: use the fakes as `G(z).detach()`.")
    _require(D.weight.grad is not None, "the loss must depend on D's outputs.")
    _no_hard_coded_cuda(fn)
    _success()


def check_generator_loss(fn: Callable) -> None:
    """Check ``fn(G, D, z)``: non-saturating loss, BCE-with-logits of D(G(z)) against ones."""
    G, D = _OnesGenerator(), _MeanDiscriminator(weight=1.5, bias=-2.0)
    z = torch.randn(5, 3)
    loss = _scalar(_call(fn, G, D, z), fn)
    with torch.no_grad():
        fake = D(G(z))
        expected = _bce(fake, 1).item()
        value = loss.item()
        mistakes = {
            "the generator wants D to call its fakes real: use targets of ones, not zeros.": _bce(fake, 0).item(),
            "that is the saturating minimax loss; minimise -log D(G(z)) instead: BCE against ones.":
                -_bce(fake, 0).item(),
            "D returns logits: pass them straight to binary_cross_entropy_with_logits (no sigmoid first).":
                _bce(torch.sigmoid(fake), 1).item(),
        }
    for message, wrong in mistakes.items():
        _require(not _close(value, wrong), message)
    _require(_close(value, expected), f"with stand-in networks the loss should be {expected:.5f}, got {value:.5f}.")
    _require(loss.requires_grad, "the loss carries no gradient: don't compute it under torch.no_grad().")
    loss.backward()
    _require(G.scale.grad is not None and G.scale.grad.abs() > 0,
             "the generator's loss must reach the generator: don't detach G(z) here.")
    _no_hard_coded_cuda(fn)
    _success()


def _tiny_pair(seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    G = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 6))
    D = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return G, D


def _reference_train_step(G, D, opt_g, opt_d, x_real, z):
    from ganlib.train import d_step, g_step

    return d_step(G, D, opt_d, x_real, z), g_step(G, D, opt_g, z)


def _states(G, D):
    return ([p.detach().clone() for p in G.parameters()], [p.detach().clone() for p in D.parameters()])


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.allclose(x, y, atol=1e-6, rtol=1e-5) for x, y in zip(a, b))


def _require_matches_reference(step: int, start: tuple, now: tuple, ref: tuple, result: Any, ref_losses: tuple,
                               *, d_hint: str, g_hint: str) -> None:
    """After the learner's training step number ``step`` (1 or 2): weights and losses as the reference's.

    ``start``, ``now`` and ``ref`` are ``(G's weights, D's weights)`` before any step, now, and
    the reference's now; ``ref_losses`` is the reference's ``(loss_d, loss_g)``.
    """
    (start_g, start_d), (now_g, now_d), (ref_g, ref_d) = start, now, ref
    if step == 1:
        _require(not torch.equal(now_g[0], start_g[0]),
                 "G's first-layer weights did not change: the G step must call loss_g.backward() and opt_g.step().")
        _require(not torch.equal(now_d[0], start_d[0]),
                 "D's weights did not change: the D step must call loss_d.backward() and opt_d.step().")
        _require(_same(now_d, ref_d), "after one step D's weights differ from the reference: " + d_hint)
        _require(_same(now_g, ref_g), "after one step G's weights differ from the reference: " + g_hint)
    else:
        # Only a missing zero_grad makes the first step match and the second differ.
        _require(_same(now_d, ref_d) and _same(now_g, ref_g),
                 "the first step matched but the second did not: gradients pile up between steps; call "
                 "opt_d.zero_grad() and opt_g.zero_grad() before each backward().")
    _require(isinstance(result, (tuple, list)) and len(result) == 2,
             "return the two losses as a pair: (loss_d, loss_g).")
    got, want = [float(v) for v in result], [float(v) for v in ref_losses]
    _require(_close(got[0], want[0], 1e-4) and _close(got[1], want[1], 1e-4),
             f"returned losses {got[0]:.4f}, {got[1]:.4f}; expected {want[0]:.4f}, {want[1]:.4f} "
             "(loss_d, loss_g) in that order.")


def check_train_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_g, opt_d, x_real, z)``: one D step then one G step, like ganlib's.

    The learner's step and ganlib's reference step run side by side on copies of two tiny
    networks with Adam; after each of two steps every weight must match.
    """
    G, D = _tiny_pair(0)
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    start_g, start_d = _states(G, D)
    opts = [torch.optim.Adam(m.parameters(), lr=0.01, betas=(0.5, 0.999)) for m in (G, D, G_ref, D_ref)]
    gen = torch.Generator().manual_seed(1)
    for step in (1, 2):
        x_real = torch.randn(8, 6, generator=gen)
        z = torch.randn(8, 3, generator=gen)
        result = _call(fn, G, D, opts[0], opts[1], x_real, z)
        ref_d, ref_g = _reference_train_step(G_ref, D_ref, opts[2], opts[3], x_real, z)
        now_g, now_d = _states(G, D)
        ref_gs, ref_ds = _states(G_ref, D_ref)
        _require_matches_reference(step, (start_g, start_d), (now_g, now_d), (ref_gs, ref_ds), result, (ref_d, ref_g),
                                   d_hint="the D step uses the D loss on x_real and G(z).detach(), it comes first, "
                                          "and the G step must step only opt_g.",
                                   g_hint="do the G step after the D step, on fresh fakes G(z) scored by the updated "
                                          "D, with the generator loss, and zero opt_g's gradients before its backward.")
    _success()


def _leaves(net: nn.Module) -> list[nn.Module]:
    """The network's layers in order, containers (nn.Sequential blocks) opened up."""
    return [m for m in net.modules() if not list(m.children())]


def _linear_sizes(layers: list[nn.Module]) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in layers if isinstance(m, nn.Linear)]


def _kinds(layers: list[nn.Module]) -> str:
    return ", ".join(type(m).__name__ for m in layers)


def _require_same_layers(net: nn.Module, reference: nn.Module, sizes: dict[str, int], what: str, fn: Callable) -> None:
    """Shapes, parameter count and ganlib's weights, loaded strictly, give ganlib's outputs."""
    got, want = _count_parameters(net), _count_parameters(reference)
    _require(got == want, f"{what} has {got:,} parameters, ganlib's has {want:,} ({sizes}): compare your layers "
                          "with the docstring.")
    try:
        net.load_state_dict(reference.state_dict(), strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise ExerciseError(
            f"ganlib's weights do not load into {what} ({first}): return nn.Sequential(block, block, ..., last "
            "layer(s)) with your block functions as its parts, in the order of the docstring, not the layers "
            "of the blocks unpacked into one list.") from None


def _count_parameters(net: nn.Module) -> int:
    """Trainable and frozen parameters of ``net``."""
    return sum(p.numel() for p in net.parameters())


def _check_generator_at(fn: Callable, z_dim: int, im_dim: int, hidden_dim: int) -> nn.Module:
    from ganlib.models.mlp import MLPGenerator

    sizes = {"z_dim": z_dim, "im_dim": im_dim, "hidden_dim": hidden_dim}
    net = _call(fn, z_dim=z_dim, im_dim=im_dim, hidden_dim=hidden_dim)
    _require(isinstance(net, nn.Module), f"`{_name(fn)}` must return an nn.Module (an nn.Sequential), "
                                         f"got {type(net).__name__}.")
    layers = _leaves(net)
    reference = MLPGenerator(z_dim=z_dim, image_shape=(1, im_dim, 1), hidden_dim=hidden_dim).net
    linears, want = _linear_sizes(layers), _linear_sizes(_leaves(reference))
    _require(bool(layers) and type(layers[-1]) is nn.Sigmoid,
             "Make sure to end with a sigmoid (nn.Sigmoid()): the images are in [0, 1], like the data; "
             f"your last layer is {type(layers[-1]).__name__ if layers else 'missing'}.")
    _require_block_count(linears, want, "the generator has {} generator blocks (hidden_dim x1, x2, x4, x8)")
    last = layers[layers.index([m for m in layers if isinstance(m, nn.Linear)][-1]):]
    _require(not any(isinstance(m, nn.BatchNorm1d) for m in last) and len(last) == 2,
             "the last layer is a plain nn.Linear(hidden_dim * 8, im_dim) followed by nn.Sigmoid(): no BatchNorm "
             f"or ReLU there (not a generator block); yours ends with {_kinds(last)}.")
    _require(sum(isinstance(m, nn.BatchNorm1d) for m in layers) == len(want) - 1,
             f"every generator block has its BatchNorm1d ({len(want) - 1} in all); your layers are {_kinds(layers)}.")
    if linears != want and linears[-1] == (128 * 8, 784):
        raise ExerciseError(f"use the arguments: with {sizes} the Linear sizes should be {want}, got {linears} "
                            "(64, 784 and 128 are only the defaults).")
    _require(linears == want, f"wrong hidden sizes: with {sizes} the Linear layers should map {want} "
                              f"(widths hidden_dim, 2x, 4x, 8x, then im_dim), got {linears}.")
    _require_same_layers(net, reference, sizes, "your generator", fn)
    net.eval()
    reference.eval()
    z = torch.randn(16, z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = net(z)
        _require(tuple(out.shape) == (16, im_dim), f"for noise (16, {z_dim}) the output should have shape "
                                                   f"(16, {im_dim}), got {tuple(out.shape)}.")
        _require(torch.allclose(out, reference(z), atol=1e-6),
                 "with ganlib's weights your generator gives other outputs: the layers must come in the order "
                 "Linear, BatchNorm1d, ReLU in each block, then Linear, Sigmoid.")
    return net


def _require_block_count(linears: list, want: list, blocks: str) -> None:
    """The learner's network has as many Linear layers as the reference: one per block, plus the last."""
    for wrong, word in ((len(linears) > len(want), "many"), (len(linears) < len(want), "few")):
        _require(not wrong, f"a block too {word}: {blocks.format(len(want) - 1)} and one last nn.Linear, "
                            f"{len(want)} Linear layers in all; yours has {len(linears)}.")


def check_build_generator(fn: Callable) -> None:
    """Check ``fn(z_dim, im_dim, hidden_dim)``: four generator blocks, then Linear and Sigmoid.

    The learner's network must have ganlib's :class:`ganlib.models.mlp.MLPGenerator` layers
    (``.net``): the same Linear sizes, parameter count, and ganlib's state dict loads into it
    (strict) and then gives the same outputs. Checked at the course's sizes and a small one.
    """
    _check_generator_at(fn, 64, 784, 128)
    _check_generator_at(fn, 10, 12, 4)
    _success()


def _check_discriminator_at(fn: Callable, im_dim: int, hidden_dim: int) -> nn.Module:
    from ganlib.models.mlp import MLPDiscriminator

    sizes = {"im_dim": im_dim, "hidden_dim": hidden_dim}
    net = _call(fn, im_dim=im_dim, hidden_dim=hidden_dim)
    _require(isinstance(net, nn.Module), f"`{_name(fn)}` must return an nn.Module (an nn.Sequential), "
                                         f"got {type(net).__name__}.")
    layers = _leaves(net)
    reference = MLPDiscriminator(image_shape=(1, im_dim, 1), hidden_dim=hidden_dim).net
    linears, want = _linear_sizes(layers), _linear_sizes(_leaves(reference))
    _require(not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in layers),
             "Don't use batchnorm in the discriminator: its blocks are Linear -> LeakyReLU(0.2).")
    _require(bool(layers) and not isinstance(layers[-1], nn.Sigmoid),
             "no sigmoid at the end: the discriminator returns logits, and the loss "
             "(binary_cross_entropy_with_logits) applies the sigmoid itself.")
    _require(bool(layers) and isinstance(layers[-1], nn.Linear),
             "the last layer is a plain nn.Linear(hidden_dim, 1), not a discriminator block (no LeakyReLU after "
             f"it); your layers end with {type(layers[-1]).__name__ if layers else 'nothing'}.")
    _require_block_count(linears, want, "the discriminator has {} blocks (hidden_dim x4, x2, x1)")
    if linears != want and linears[0] == (784, 512):
        raise ExerciseError(f"use the arguments: with {sizes} the Linear sizes should be {want}, got {linears} "
                            "(784 and 128 are only the defaults).")
    _require(linears == want, f"wrong hidden sizes: with {sizes} the Linear layers should map {want} "
                              f"(widths hidden_dim x4, x2, x1: the discriminator narrows), got {linears}.")
    _require_same_layers(net, reference, sizes, "your discriminator", fn)
    x = torch.rand(16, im_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = net(x)
        _require(tuple(out.shape) == (16, 1), f"for images (16, {im_dim}) the output should be one logit each, "
                                              f"shape (16, 1), got {tuple(out.shape)}.")
        _require(torch.allclose(out, reference(x), atol=1e-6),
                 "with ganlib's weights your discriminator gives other outputs: each block is Linear then "
                 "LeakyReLU(0.2), and the last Linear comes after the three blocks.")
    return net


def check_build_discriminator(fn: Callable) -> None:
    """Check ``fn(im_dim, hidden_dim)``: three discriminator blocks, then Linear to one logit.

    As :func:`check_build_generator`, against :class:`ganlib.models.mlp.MLPDiscriminator`'s layers.
    """
    _check_discriminator_at(fn, 784, 128)
    _check_discriminator_at(fn, 12, 4)
    _success()


def networks_or_reference(build_generator: Callable, build_discriminator: Callable, z_dim: int = 64,
                          image_shape: tuple[int, int, int] = (1, 28, 28)) -> tuple[nn.Module, nn.Module, str]:
    """The learner's networks when both pass their checks, else ganlib's, with images as tensors ``(n, C, H, W)``.

    The learner's generator maps ``(n, z_dim)`` to ``(n, im_dim)`` and the discriminator takes
    ``(n, im_dim)``; a reshape on each side makes them drop-in replacements for
    :class:`ganlib.models.mlp.MLPGenerator` / ``MLPDiscriminator`` in ganlib's steps.

    Returns:
        ``(G, D, whose)``: G maps ``(n, z_dim)`` to ``(n, C, H, W)``, D maps ``(n, C, H, W)`` to
        ``(n, 1)``; ``whose`` says which networks they are (a short phrase).
    """
    from ganlib.models.mlp import MLPDiscriminator, MLPGenerator

    im_dim = math.prod(image_shape)
    try:
        _check_generator_at(build_generator, z_dim, im_dim, 128)
        _check_discriminator_at(build_discriminator, im_dim, 128)
        G_net, D_net = build_generator(z_dim=z_dim, im_dim=im_dim), build_discriminator(im_dim=im_dim)
        whose = "yours (build_generator, build_discriminator)"
    except Exception:  # not written yet, or wrong: the notebook goes on with ganlib's
        G_net = MLPGenerator(z_dim=z_dim, image_shape=image_shape).net
        D_net = MLPDiscriminator(image_shape=image_shape).net
        whose = "ganlib's (your build_generator / build_discriminator do not pass their checks yet)"
    G = nn.Sequential(G_net, nn.Unflatten(1, tuple(image_shape)))
    D = nn.Sequential(nn.Flatten(), D_net)
    return G, D, whose


# --------------------------------------------------------------------------- notebook 02

def check_conv_transpose_output_size(fn: Callable) -> None:
    """Check ``fn(size, kernel_size, stride, padding=0)`` against nn.ConvTranspose2d itself."""
    cases = [(1, 3, 2, 0), (3, 4, 1, 0), (6, 3, 2, 0), (13, 4, 2, 0), (4, 4, 2, 1), (8, 4, 2, 1), (7, 5, 3, 2)]
    for size, kernel, stride, padding in cases:
        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        got = _call(fn, size, kernel, stride, padding)
        _require(isinstance(got, int) and not isinstance(got, bool),
                 f"return a Python int (a size), got {type(got).__name__}.")
        if got == expected:
            continue
        where = f"for size {size}, kernel {kernel}, stride {stride}, padding {padding}"
        _require(got != (size + 2 * padding - kernel) // stride + 1,
                 f"{where} you gave {got}: that is an ordinary convolution's (shrinking) formula. A transposed "
                 "convolution grows the image: (size - 1) * stride - 2 * padding + kernel_size.")
        _require(got != (size - 1) * stride + kernel,
                 f"{where} you gave {got}, expected {expected}: padding removes 2 * padding pixels.")
        _require(got != size * stride,
                 f"{where} you gave {got}, expected {expected}: the kernel's size matters too.")
        raise ExerciseError(f"{where} nn.ConvTranspose2d gives {expected}, you gave {got}.")
    _success()


def check_init_weights(fn: Callable) -> None:
    """Check ``fn(module)`` used as ``model.apply(fn)``: conv ~ N(0, 0.02), BatchNorm ~ N(1, 0.02), bias 0."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.ConvTranspose2d(64, 128, 4), nn.BatchNorm2d(4096), nn.ReLU(),
        nn.Conv2d(128, 64, 4), nn.BatchNorm2d(4096), nn.LeakyReLU(0.2),
    )
    with torch.no_grad():  # start from values that no correct init leaves behind
        for bn in (model[1], model[4]):
            bn.weight.fill_(5.0)
            bn.bias.fill_(5.0)
    try:
        model.apply(fn)
    except NotImplementedError:
        raise ExerciseError(f"`{_name(fn)}` is not implemented yet: replace `raise NotImplementedError()` "
                            "with your code.") from None
    for index, kind in ((0, "ConvTranspose2d"), (3, "Conv2d")):
        w = model[index].weight
        _require(abs(w.mean().item()) < 0.002 and abs(w.std().item() - 0.02) < 0.002,
                 f"{kind} weights should be drawn from N(0, 0.02) (mean 0, std 0.02), got mean "
                 f"{w.mean().item():.4f}, std {w.std().item():.4f}: use nn.init.normal_(m.weight, 0.0, 0.02).")
    for index in (1, 4):
        bn = model[index]
        mean, std = bn.weight.mean().item(), bn.weight.std().item()
        _require(not (abs(mean) < 0.01 and abs(std - 0.02) < 0.003),
                 "BatchNorm's scale (weight) is centred on 0: centre it on 1, N(1, 0.02); a scale near 0 "
                 "starts every block almost silent.")
        _require(abs(mean - 1) < 0.01 and abs(std - 0.02) < 0.003,
                 f"BatchNorm weights should be drawn from N(1, 0.02), got mean {mean:.3f}, std {std:.4f}.")
        _require(torch.all(bn.bias == 0), "set BatchNorm's shift (bias) to 0: nn.init.zeros_(m.bias).")
    _success()


def _least_squares_reference(real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float]:
    return (0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()).item(), (0.5 * ((fake - 1) ** 2).mean()).item()


def check_least_squares_loss(loss: Any) -> None:
    """Check a least-squares GAN loss (Mao et al., 2017) written as an object with two methods.

    ``loss.d(logits_real, logits_fake)`` must be ``1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2)`` and
    ``loss.g(logits_fake)`` must be ``1/2 mean((D(G(z)) - 1)^2)``, both on the raw outputs ``(n, 1)``.
    A class (or a function that returns the object) is called first.
    """
    __tracebackhide__ = True
    if isinstance(loss, type) or not (callable(getattr(loss, "d", None)) and callable(getattr(loss, "g", None))):
        _require(callable(loss), "pass an object with methods d(logits_real, logits_fake) and g(logits_fake), "
                                 f"e.g. LeastSquaresLoss(); got {type(loss).__name__}.")
        loss = _call(loss)
    _require(callable(getattr(loss, "d", None)) and callable(getattr(loss, "g", None)),
             "the loss needs two methods: d(logits_real, logits_fake) and g(logits_fake).")
    real = torch.tensor([[0.3], [1.7], [-0.4], [2.2], [0.9], [-1.1]], requires_grad=True)
    fake = torch.tensor([[-0.8], [0.5], [1.4], [-2.0], [0.1], [0.7]], requires_grad=True)
    loss_d = _scalar(_call(loss.d, real, fake), loss.d)
    loss_g = _scalar(_call(loss.g, fake), loss.g)
    with torch.no_grad():
        expected_d, expected_g = _least_squares_reference(real, fake)
        sig_d, sig_g = _least_squares_reference(torch.sigmoid(real), torch.sigmoid(fake))
        d_mistakes = {
            "d: real images have target 1 and fakes target 0; your targets are swapped (or the arguments are: "
            "d(logits_real, logits_fake)).": (0.5 * (real ** 2).mean() + 0.5 * ((fake - 1) ** 2).mean()).item(),
            "d: each squared error carries a factor 1/2 (Mao et al.'s loss): "
            "1/2 mean((D(x) - 1)^2) + 1/2 mean(D(G(z))^2).": 2 * expected_d,
            "d: use the raw outputs (logits); the least-squares loss has no sigmoid.": sig_d,
            "d: average over the batch (mean), not sum.":
                (0.5 * ((real - 1) ** 2).sum() + 0.5 * (fake ** 2).sum()).item(),
            "d: the loss needs both terms; you only used the real images.": (0.5 * ((real - 1) ** 2).mean()).item(),
            "d: the loss needs both terms; you only used the fakes.": (0.5 * (fake ** 2).mean()).item(),
        }
        g_mistakes = {
            "g: the generator wants its fakes scored as real: target 1, (D(G(z)) - 1)^2, not D(G(z))^2.":
                (0.5 * (fake ** 2).mean()).item(),
            "g: minimise the distance to the real target, 1/2 mean((D(G(z)) - 1)^2), not minus D's loss.":
                -(0.5 * (fake ** 2).mean()).item(),
            "g: the squared error carries a factor 1/2: 1/2 mean((D(G(z)) - 1)^2).": 2 * expected_g,
            "g: use the raw outputs (logits); the least-squares loss has no sigmoid.": sig_g,
            "g: average over the batch (mean), not sum.": (0.5 * ((fake - 1) ** 2).sum()).item(),
        }
    for value, expected, mistakes, name in ((loss_d.item(), expected_d, d_mistakes, "d"),
                                            (loss_g.item(), expected_g, g_mistakes, "g")):
        for message, wrong in mistakes.items():
            _require(not _close(value, wrong), message)
        _require(_close(value, expected),
                 f"{name}: with these logits the loss should be {expected:.5f}, got {value:.5f}.")
    _require(loss_d.requires_grad and loss_g.requires_grad,
             "the losses carry no gradient: don't compute them under torch.no_grad() or from .item().")
    for method in (loss.d, loss.g):
        _no_hard_coded_cuda(method)
    _success()


# --------------------------------------------------------------------------- notebook 03

def check_nearest_centre(fn: Callable) -> None:
    """Check ``fn(points (n, d), centres (k, d))``: the ``(n,)`` int64 index of each point's nearest centre."""
    gen = torch.Generator().manual_seed(0)
    points, centres = torch.randn(200, 6, generator=gen), torch.randn(7, 6, generator=gen)
    centres[3] *= 4  # one centre far out: largest dot product with many points, but not nearest
    expected = torch.cdist(points, centres).argmin(1)
    got = _call(fn, points, centres)
    _require(isinstance(got, torch.Tensor), f"return a tensor of indices, got {type(got).__name__}.")
    _require(tuple(got.shape) == (200,),
             f"200 points give 200 indices, shape (200,), got {tuple(got.shape)}: reduce over the centres "
             "(dim=1 of the (n, k) distances).")
    _require(got.dtype == torch.long, f"return int64 indices (argmin gives them), got {got.dtype}.")
    _require(not torch.equal(got, torch.cdist(points, centres).argmax(1)),
             "that is each point's farthest centre: use argmin of the distances.")
    _require(not torch.equal(got, (points @ centres.T).argmax(1)),
             "the largest dot product is not the nearest centre when centres differ in length: compare "
             "distances, ||p - c||^2 = ||p||^2 - 2 p.c + ||c||^2.")
    wrong = int((got != expected).sum())
    _require(wrong == 0, f"{wrong} of 200 points got an index that is not their nearest centre.")
    _success()


def check_one_hot(fn: Callable) -> None:
    """Check ``fn(labels, num_classes)``: float one-hot rows of shape ``(n, num_classes)``."""
    labels = torch.tensor([0, 3, 9, 3, 1])
    got = _call(fn, labels, 10)
    _require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}.")
    _require(tuple(got.shape) == (5, 10),
             f"5 labels and 10 classes give shape (5, 10), got {tuple(got.shape)}.")
    _require(got.is_floating_point(),
             f"return floats (they are concatenated with float noise): add .float(), got {got.dtype}.")
    _require(torch.equal(got, F.one_hot(labels, 10).float()),
             "each row must hold a single 1 at the label's position and 0 elsewhere.")
    _require(tuple(_call(fn, torch.tensor([1, 0]), 3).shape) == (2, 3),
             "the number of columns must be num_classes (asked for 3).")
    _success()


def check_combine_vectors(fn: Callable) -> None:
    """Check ``fn(x, y)``: concatenation along dimension 1, returned as floats."""
    got = _call(fn, torch.randn(4, 3), torch.randn(4, 3))
    _require(isinstance(got, torch.Tensor), f"return a tensor, got {type(got).__name__}.")
    _require(tuple(got.shape) != (8, 3),
             "concatenate along dimension 1 (features / channels), not dimension 0 (the batch).")
    x, y = torch.randn(4, 5), torch.eye(4, 3, dtype=torch.long)
    got = _call(fn, x, y)
    _require(tuple(got.shape) == (4, 8), f"(4, 5) and (4, 3) give (4, 8), got {tuple(got.shape)}.")
    _require(got.dtype == torch.float32, f"return floats (float32) even for integer inputs, got {got.dtype}.")
    _require(torch.equal(got[:, :5], x) and torch.equal(got[:, 5:], y.float()),
             "x must come first, then y, values unchanged.")
    images, maps = torch.randn(2, 1, 6, 6), torch.ones(2, 10, 6, 6)
    try:
        got = _call(fn, images, maps)
    except RuntimeError as error:
        raise ExerciseError(f"images (2, 1, 6, 6) and class maps (2, 10, 6, 6) must give (2, 11, 6, 6), but your "
                            f"function raised: {error}. Concatenate along dim=1, not the last one.") from None
    _require(tuple(got.shape) == (2, 11, 6, 6),
             f"images (2, 1, 6, 6) and class maps (2, 10, 6, 6) give (2, 11, 6, 6), got {tuple(got.shape)}.")
    _success()


def check_input_dims(fn: Callable) -> None:
    """Check ``fn(z_dim, image_shape, num_classes)`` -> (generator input size, discriminator in-channels)."""
    got = _call(fn, 23, (12, 23, 52), 9)
    _require(isinstance(got, (tuple, list)) and len(got) == 2,
             "return two numbers: (generator_input_dim, discriminator_in_channels).")
    g_dim, d_channels = got
    _require((g_dim, d_channels) != (21, 32), "the two numbers are swapped: the generator's comes first.")
    _require(g_dim == 32, f"the generator reads the noise and the one-hot vector: z_dim + num_classes "
                          f"(23 + 9 = 32 here), got {g_dim}.")
    _require(d_channels == 21, f"the discriminator reads the image channels plus one class map per class: "
                               f"image_shape[0] + num_classes (12 + 9 = 21 here), got {d_channels}.")
    _require(tuple(_call(fn, 64, (1, 28, 28), 10)) == (74, 11), "for MNIST (z_dim 64, 10 classes) expect (74, 11).")
    _success()


_STEP_Z, _STEP_CLASSES, _STEP_IMAGE = 3, 4, (1, 2, 2)


class _Recorder(nn.Module):
    """A tiny network that logs what it is fed (and refuses inputs of the wrong layout, naming the mistake)."""

    def __init__(self, net: nn.Module, kind: str, events: list) -> None:
        super().__init__()
        self.net, self.kind, self.events = net, kind, events

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        __tracebackhide__ = True
        c, h, w = _STEP_IMAGE
        if self.kind == "G":
            _require(tuple(x.shape[1:]) != (_STEP_Z,),
                     f"G was fed the noise alone, shape {tuple(x.shape)}: the labels were not passed. G reads "
                     "the noise and the one-hot labels side by side: concat_inputs(z, make_one_hot(labels, "
                     "num_classes)).")
            _require(tuple(x.shape[1:]) == (_STEP_Z + _STEP_CLASSES,),
                     f"G was fed shape {tuple(x.shape)}; with z_dim {_STEP_Z} and {_STEP_CLASSES} classes it "
                     f"reads (n, {_STEP_Z + _STEP_CLASSES}): the noise and the one-hot labels side by side.")
        else:
            _require(tuple(x.shape[1:]) != (c, h, w),
                     f"D was fed images alone, shape {tuple(x.shape)}: the labels were not passed. D reads each "
                     "image with its class maps stacked as channels: concat_inputs(x, maps), maps = the one-hot "
                     "labels as (n, num_classes, H, W) planes, e.g. one_hot[:, :, None, None].expand(-1, -1, H, W).")
            _require(tuple(x.shape[1:]) == (c + _STEP_CLASSES, h, w),
                     f"D was fed shape {tuple(x.shape)}; it reads (n, {c + _STEP_CLASSES}, {h}, {w}): the image's "
                     f"{c} channel(s), then {_STEP_CLASSES} class maps, concatenated along dimension 1.")
        self.events.append((self.kind, x.detach().clone(), x.requires_grad))
        return self.net(x)


class _Conditional(nn.Module):
    """ganlib's way to condition a network that reads combined inputs: ``net(cat(x, code(labels)))``."""

    def __init__(self, net: nn.Module, images: bool) -> None:
        super().__init__()
        self.net, self.images = net, images

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        from ganlib.models.cgan import class_maps
        from ganlib.noise import one_hot

        code = class_maps(labels, _STEP_CLASSES, *x.shape[2:]) if self.images else one_hot(labels, _STEP_CLASSES)
        return self.net(torch.cat([x, code.to(x.dtype)], dim=1))


def _tiny_conditional_pair(seed: int) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    c, h, w = _STEP_IMAGE
    G = nn.Sequential(nn.Linear(_STEP_Z + _STEP_CLASSES, 8), nn.ReLU(), nn.Linear(8, c * h * w),
                      nn.Unflatten(1, _STEP_IMAGE))
    D = nn.Sequential(nn.Flatten(), nn.Linear((c + _STEP_CLASSES) * h * w, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return G, D


def _check_step_inputs(events: list, x_real: torch.Tensor, labels: torch.Tensor, z: torch.Tensor) -> None:
    """What D and G were fed in one step: the D step's real and fake pairs, and the class codes."""
    __tracebackhide__ = True
    from ganlib.models.cgan import class_maps
    from ganlib.noise import one_hot

    split = next((i for i, e in enumerate(events) if e[0] == "opt_d"), None)
    _require(split is not None, "opt_d.step() was never called: the D step must call loss_d.backward() and "
                                "opt_d.step().")
    d_inputs = [(x, grad) for kind, x, grad in events[:split] if kind == "D"]
    _require(len(d_inputs) >= 2, f"D scored {len(d_inputs)} batch(es) before opt_d.step(): its step scores the "
                                 "real images and the fakes (two calls of D, or one on both batches).")
    c = _STEP_IMAGE[0]
    maps = class_maps(labels, _STEP_CLASSES, *_STEP_IMAGE[1:])
    reals = [(x, grad) for x, grad in d_inputs if x.shape == (len(x_real), c + _STEP_CLASSES, *_STEP_IMAGE[1:])
             and torch.equal(x[:, :c], x_real)]
    fakes = [(x, grad) for x, grad in d_inputs if not torch.equal(x[:, :c], x_real)]
    _require(len(d_inputs) < 2 or not torch.equal(d_inputs[0][0], d_inputs[1][0]),
             "D's inputs for real and fake are the same tensor: score the real images with their maps, "
             "then the fakes with theirs.")
    _require(reals, "D never scored the real images x_real (with their class maps) in its step.")
    _require(fakes, "in its step D scored the real images twice: score the fakes G made as well.")
    fake, fake_grad = fakes[0]
    _require(fake.shape[0] == reals[0][0].shape[0],
             f"fakes and reals must have equal length: {fake.shape[0]} fakes against {reals[0][0].shape[0]} reals.")
    _require(torch.equal(reals[0][0][:, c:], maps),
             "the real images were scored with the wrong class maps: stack each image with the maps of its "
             "own label (labels, in order).")
    _require(torch.equal(fake[:, c:], maps),
             "the fakes were scored with the wrong class maps: a fake is judged with the label it was drawn "
             "for, the same labels G received.")
    _require(not fake_grad,
             "in the D step the fakes still carry G's graph: use G(...).detach() there, so that loss_d trains "
             "D only (without it, loss_d.backward() also fills G's gradients).")
    g_inputs = [x for kind, x, _ in events if kind == "G"]
    _require(bool(g_inputs), "G was never called.")
    code = one_hot(labels, _STEP_CLASSES)
    _require(all(torch.equal(x[:, _STEP_Z:], code) for x in g_inputs),
             "G was fed the wrong one-hot part: it draws for the given labels, concat_inputs(z, "
             "make_one_hot(labels, num_classes)), noise first.")
    _require(all(torch.equal(x[:, :_STEP_Z], z) for x in g_inputs), "G must be fed the noise z given to the step.")
    after = [grad for kind, _, grad in events[split + 1:] if kind == "D"]
    _require(any(after), "after opt_d.step() D never scored fakes that carry G's graph: the G step scores "
                         "G(...) undetached, so that loss_g reaches G.")


def check_conditional_train_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_g, opt_d, x_real, labels, z, num_classes)``: one conditional D step, then one G step.

    G and D read combined inputs (noise with one-hot labels; images with class maps). The
    learner's step and ganlib's ``d_step`` / ``g_step`` with conditional networks run side by
    side on copies of two tiny networks with Adam, seeds fixed; after each of two steps every
    weight must match. What G and D are fed is checked too: the labels, the ``.detach()`` of the
    D step, equal numbers of reals and fakes, different inputs for real and fake.
    """
    from ganlib.train import d_step, g_step

    G, D = _tiny_conditional_pair(0)
    G_ref, D_ref = _Conditional(copy.deepcopy(G), False), _Conditional(copy.deepcopy(D), True)
    events: list = []
    G_seen, D_seen = _Recorder(G, "G", events), _Recorder(D, "D", events)
    start_g, start_d = _states(G, D)
    opt_g, opt_d, opt_g_ref, opt_d_ref = [torch.optim.Adam(m.parameters(), lr=0.01, betas=(0.5, 0.999))
                                          for m in (G, D, G_ref, D_ref)]
    opt_d.register_step_pre_hook(lambda *_: events.append(("opt_d", None, False)))
    gen = torch.Generator().manual_seed(1)
    for step in (1, 2):
        events.clear()
        x_real = torch.randn(8, *_STEP_IMAGE, generator=gen)
        labels = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])[torch.randperm(8, generator=gen)]
        z = torch.randn(8, _STEP_Z, generator=gen)
        try:
            result = _call(fn, G_seen, D_seen, opt_g, opt_d, x_real, labels, z, _STEP_CLASSES)
        except RuntimeError as error:
            _require("second time" not in str(error),
                     "loss_g.backward() found the fakes' graph already freed by loss_d.backward(): the D step "
                     "must score G(...).detach(), so that loss_d trains D only and G's graph is kept for the G "
                     f"step. (PyTorch said: {str(error).splitlines()[0]})")
            raise
        ref_d = d_step(G_ref, D_ref, opt_d_ref, x_real, z, labels)
        ref_g = g_step(G_ref, D_ref, opt_g_ref, z, labels)
        _check_step_inputs(events, x_real, labels, z)
        now_g, now_d = _states(G, D)
        ref_gs, ref_ds = _states(G_ref.net, D_ref.net)
        _require_matches_reference(step, (start_g, start_d), (now_g, now_d), (ref_gs, ref_ds), result, (ref_d, ref_g),
                                   d_hint="the D step uses the BCE-with-logits D loss (the mean of the real and the "
                                          "fake terms) on the real and the detached fake pairs, it comes first, and "
                                          "the G step must step only opt_g.",
                                   g_hint="do the G step after the D step, on fakes scored by the updated D with their "
                                          "class maps, with the generator loss (fakes called real), and zero opt_g's "
                                          "gradients before its backward.")
    _no_hard_coded_cuda(fn)
    _success()


# --------------------------------------------------------------------------- notebook 04

class _RecordingCritic(nn.Module):
    """Stand-in critic ``score = a * <w, x>``; remembers the last batch it scored."""

    def __init__(self, w: torch.Tensor, a: float = 1.0) -> None:
        super().__init__()
        self.w = w
        self.a = nn.Parameter(torch.tensor(a))
        self.seen: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = x.detach().clone()
        return self.a * (x.flatten(1) * self.w).sum(1, keepdim=True)


def check_gradient_penalty(fn: Callable) -> None:
    """Check ``fn(critic, x_real, x_fake)``: mean over samples of (||grad||_2 - 1)^2 at per-sample mixes."""
    n, shape = 64, (3, 4, 4)
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(math.prod(shape), generator=gen)
    w = 3 * w / w.norm()  # a linear critic: its gradient is w everywhere, of norm 3
    x_real, x_fake = torch.randn(n, *shape, generator=gen), torch.randn(n, *shape, generator=gen)
    critic = _RecordingCritic(w)
    penalty = _scalar(_call(fn, critic, x_real, x_fake), fn)
    value = penalty.item()
    _require(not _close(value, 9.0, 1e-4), "you returned the squared gradient norm: use (||grad|| - 1)^2.")
    _require(not _close(value, 2.0, 1e-4), "square the difference: (||grad|| - 1)^2, not ||grad|| - 1.")
    _require(not _close(value, 64.0, 1e-4), "use the norm of the gradient, not its squared norm, in (||grad|| - 1)^2.")
    _require(not _close(value, (3 * math.sqrt(n) - 1) ** 2, 1e-4),
             "take one gradient norm per sample (flatten each sample, norm over dim 1), not one for the whole batch.")
    _require(_close(value, 4.0, 1e-4),
             f"for a critic whose gradient has norm 3 everywhere the penalty is (3 - 1)^2 = 4, got {value:.4f}.")
    # Where did the learner evaluate the critic? Each x_hat must lie on the segment real-fake of its sample.
    _require(critic.seen is not None and critic.seen.shape == x_real.shape,
             "call the critic once on the mixed batch x_hat (same shape as x_real).")
    diff = (x_real - x_fake).flatten(1)
    eps = ((critic.seen - x_fake).flatten(1) * diff).sum(1) / (diff * diff).sum(1)
    residual = (critic.seen - x_fake).flatten(1) - eps[:, None] * diff
    _require(residual.abs().max() < 1e-4,
             "x_hat must mix each real image with its fake with one weight per image: "
             "eps = torch.rand(n, 1, 1, 1); x_hat = eps * x_real + (1 - eps) * x_fake.")
    _require(eps.min() >= -1e-5 and eps.max() <= 1 + 1e-5, "the mixing weight eps must lie in [0, 1]: torch.rand.")
    _require(not (eps - eps.round()).abs().max() < 1e-4,
             "the critic only saw the real or only the fake images: x_hat must mix x_real and x_fake, "
             "x_hat = eps * x_real + (1 - eps) * x_fake.")
    _require(eps.std() > 0.1, "every image needs its own mixing weight: draw eps of shape (n, 1, 1, 1), "
                              "not one number for the whole batch.")
    # The penalty trains the critic, so it must be differentiable w.r.t. the critic's weights.
    _require(penalty.requires_grad,
             "the penalty carries no gradient for the critic: pass create_graph=True to torch.autograd.grad.")
    penalty.backward()
    _require(critic.a.grad is not None and critic.a.grad.abs() > 0,
             "the penalty must reach the critic's weights: pass create_graph=True to torch.autograd.grad.")
    _no_hard_coded_cuda(fn)
    _success()


def check_critic_loss(fn: Callable) -> None:
    """Check ``fn(critic_real, critic_fake, penalty, gp_weight)``: mean(fake) - mean(real) + weight * penalty."""
    real, fake = torch.tensor([[2.0], [1.0], [3.0]]), torch.tensor([[-1.0], [0.5], [0.0]])
    penalty = torch.tensor(0.3)
    got = _scalar(_call(fn, real, fake, penalty, 10.0), fn).item()
    expected = fake.mean().item() - real.mean().item() + 3.0
    _require(not _close(got, real.mean().item() - fake.mean().item() + 3.0),
             "the sign is wrong: the critic minimises mean(critic_fake) - mean(critic_real), "
             "i.e. it raises its scores on real images.")
    _require(not _close(got, fake.mean().item() - real.mean().item() + 0.3),
             "multiply the penalty by gp_weight (lambda, 10).")
    _require(not _close(got, fake.mean().item() - real.mean().item()),
             "add the gradient penalty: + gp_weight * penalty.")
    _require(_close(got, expected), f"expected {expected:.4f}, got {got:.4f}.")
    _success()


def check_generator_wasserstein_loss(fn: Callable) -> None:
    """Check ``fn(critic_fake)``: -mean(critic_fake)."""
    fake = torch.tensor([[-1.0], [0.5], [2.0], [0.1]])
    got = _scalar(_call(fn, fake), fn).item()
    _require(not _close(got, fake.mean().item()),
             "the sign is wrong: the generator wants high critic scores, so it minimises -mean(critic_fake).")
    _require(_close(got, -fake.mean().item()), f"expected {-fake.mean().item():.4f}, got {got:.4f}.")
    _success()


# The layer tables of notebook 04 (ganlib.models.acgan builds the same networks).
_CRITIC_STRIDES = (1, 2, 1, 2, 1, 1, 1, 2)
_CRITIC_NAMES = ("self.features (one nn.Sequential: Conv2d, LayerNorm, LeakyReLU for each of the 8 layers, "
                 "then MaxPool2d), self.fc1 and self.fc10")
_GENERATOR_NAMES = ("self.fc (nn.Sequential: Linear, BatchNorm1d, ReLU) and self.body (one nn.Sequential with the "
                    "table's rows in order, each convolution followed by BatchNorm2d and ReLU, the last one by Tanh)")


def _instance(cls: Callable, **kwargs: Any) -> nn.Module:
    __tracebackhide__ = True
    net = _call(cls, **kwargs)
    _require(isinstance(net, nn.Module), f"`{_name(cls)}(...)` must build an nn.Module (a class that subclasses "
                                         f"nn.Module and calls super().__init__()), got {type(net).__name__}.")
    return net


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _load_reference(net: nn.Module, reference: nn.Module, names: str) -> None:
    """Load the reference's state dict into the learner's network (strict); name what does not fit."""
    __tracebackhide__ = True
    ours, theirs = reference.state_dict(), net.state_dict()
    missing = [k for k in ours if k not in theirs]
    unexpected = [k for k in theirs if k not in ours]
    _require(not missing and not unexpected,
             "ganlib's weights do not load into your network: "
             + (f"your network lacks {missing[:4]}" if missing else "")
             + ("; " if missing and unexpected else "")
             + (f"it has {unexpected[:4]}, which ganlib's lacks" if unexpected else "")
             + f". Name the parts {names}, in the table's order (an activation or pooling layer without "
             "weights still takes a place in an nn.Sequential).")
    wrong = [f"{k}: yours {tuple(theirs[k].shape)}, ganlib's {tuple(ours[k].shape)}" for k in ours
             if theirs[k].shape != ours[k].shape]
    _require(not wrong, "some layers have the wrong shape (" + "; ".join(wrong[:3]) + "): compare them with the "
                        "table's channel counts and kernel sizes.")
    net.load_state_dict(ours, strict=True)


def _modules(net: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


def _require_same_count(net: nn.Module, reference: nn.Module, name: str, width: int, hint: str) -> None:
    """The learner's ``name`` at ``width`` has as many parameters as ganlib's ``reference``."""
    _require(_count(net) == _count(reference),
             f"at width {width} your {name} has {_count(net):,} parameters, ganlib's {_count(reference):,}: "
             + ("did you hard-code 196 instead of using width? " if width != 196 else "") + hint)


def check_critic_class(cls: Callable) -> None:
    """Check a critic class ``cls(num_classes=10, width=196)``: notebook 04's layer table, ganlib's weights load."""
    from ganlib.models import ACGANCritic  # here, not at the top: the checks of other notebooks need no models

    for width in (196, 8):
        critic = _instance(cls, width=width)
        _require(getattr(critic, "num_classes", None) == 10,
                 "keep the line self.num_classes = num_classes: the training step reads it.")
        _require(not _modules(critic, nn.modules.batchnorm._BatchNorm),
                 "the critic must not use BatchNorm: use nn.LayerNorm([C, H, W]) after each convolution, so that "
                 "each image's score depends on that image alone (the gradient penalty needs this).")
        norms = _modules(critic, nn.LayerNorm)
        _require(len(norms) == 8, f"the critic needs one nn.LayerNorm after each of its 8 convolutions, "
                                  f"found {len(norms)}.")
        convs = _modules(critic, nn.Conv2d)
        _require(len(convs) == 8, f"the critic has 8 convolutions (3x3, padding 1), found {len(convs)}.")
        _require(all(c.out_channels == width for c in convs),
                 f"built with width={width}, your convolutions have {[c.out_channels for c in convs]} channels: "
                 "did you hard-code 196 instead of using width?")
        strides = tuple(c.stride[0] for c in convs)
        _require(strides == _CRITIC_STRIDES,
                 f"the convolutions' strides must be {_CRITIC_STRIDES} in this order (32 -> 32, 16, 16, 8, 8, 8, 8, "
                 f"4 pixels), yours are {strides}: check the stride order in the table.")
        _require(all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs),
                 "every critic convolution is 3x3 with padding 1 (kernel_size=3, padding=1).")
        sizes = [32 // math.prod(_CRITIC_STRIDES[:i + 1]) for i in range(8)]
        shapes = [tuple(n.normalized_shape) for n in norms]
        expected = [(width, s, s) for s in sizes]
        _require(shapes == expected,
                 f"LayerNorm normalises each image over all of (C, H, W): nn.LayerNorm([{width}, 32, 32]) after the "
                 f"first convolution, ... [{width}, 4, 4] after the last; yours normalise over {shapes[:2]}...")
        _require(_modules(critic, nn.MaxPool2d) or _modules(critic, nn.AdaptiveMaxPool2d),
                 "missing max-pool: after the last layer nn.MaxPool2d(4, 4) takes each 4x4 map to one number, so "
                 f"fc1 and fc10 read a {width}-vector per image.")
        slopes = {m.negative_slope for m in _modules(critic, nn.LeakyReLU)}
        _require(slopes == {0.1}, f"use nn.LeakyReLU(0.1) after each LayerNorm (the table's slope), found slopes "
                                  f"{sorted(slopes) or 'none'}.")
        try:
            out = critic(torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
        except RuntimeError as error:
            raise ExerciseError(f"your critic fails on a batch of 3 images (3, 32, 32): {error}. Check the table's "
                                "channel counts and that the features are flattened before fc1 and fc10.") from None
        _require(isinstance(out, tuple) and len(out) == 2,
                 "forward must return two tensors: (score (n, 1), class logits (n, 10)).")
        _require(tuple(out[0].shape) == (3, 1) and tuple(out[1].shape) == (3, 10),
                 f"for 3 images forward must return a score (3, 1) and logits (3, 10), got "
                 f"{tuple(out[0].shape)} and {tuple(out[1].shape)}.")
        reference = ACGANCritic(num_classes=10, width=width)
        _require_same_count(critic, reference, "critic", width, "compare each layer with the table.")
        _load_reference(critic, reference, _CRITIC_NAMES)
        x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            got, want = critic(x), reference(x)
        _require(all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, want)),
                 "with ganlib's weights your critic computes other scores: check the order within each layer "
                 "(convolution, LayerNorm, LeakyReLU), the max-pool, and that fc1 gives the score, fc10 the logits.")
    _no_hard_coded_cuda(cls)
    _success()


def check_generator_class(cls: Callable) -> None:
    """Check a generator class ``cls(z_dim=128, width=196)``: notebook 04's layer table, ganlib's weights load."""
    from ganlib.models import ACGANGenerator

    for width in (196, 8):
        G = _instance(cls, z_dim=128, width=width)
        _require(getattr(G, "z_dim", None) == 128, "keep the line self.z_dim = z_dim: sampling reads it.")
        ups = _modules(G, nn.ConvTranspose2d)
        _require(len(ups) == 3, f"the generator has 3 transposed convolutions (4 -> 8 -> 16 -> 32), found {len(ups)}.")
        _require(all(u.padding == (1, 1) for u in ups),
                 "padding 0 in the transposed convolutions gives 4 -> 10 pixels: the table's sizes "
                 "(4 -> 8 -> 16 -> 32) need nn.ConvTranspose2d(..., kernel_size=4, stride=2, padding=1), "
                 "since (H - 1) * 2 - 2 * 1 + 4 = 2H.")
        _require(all(u.stride == (2, 2) and u.kernel_size == (4, 4) for u in ups),
                 "each transposed convolution has kernel_size=4 and stride=2 (it doubles the size).")
        _require(all(u.out_channels == width for u in ups),
                 f"built with width={width}, your transposed convolutions have {[u.out_channels for u in ups]} "
                 "channels: did you hard-code 196 instead of using width?")
        _require(any(isinstance(m, nn.Tanh) for m in G.modules()),
                 "end with nn.Tanh(): the images must lie in [-1, 1], like the training images.")
        G.train()
        z = torch.randn(4, 128, generator=torch.Generator().manual_seed(0))
        try:
            images = G(z)
        except RuntimeError as error:
            raise ExerciseError(f"your generator fails on noise (4, 128): {error}. Check that fc's output is reshaped "
                                f"to ({width}, 4, 4) and the table's channel counts.") from None
        _require(isinstance(images, torch.Tensor) and tuple(images.shape) == (4, 3, 32, 32),
                 f"for noise (4, 128) the generator must return images (4, 3, 32, 32), got "
                 f"{tuple(getattr(images, 'shape', ())) or type(images).__name__}.")
        _require(images.min() >= -1 and images.max() <= 1,
                 "the images must lie in [-1, 1]: the last layer is nn.Tanh(), after the last convolution.")
        reference = ACGANGenerator(z_dim=128, width=width)
        _require_same_count(G, reference, "generator", width, "compare each layer with the table (a BatchNorm "
                                                               "after every convolution but the last).")
        _load_reference(G, reference, _GENERATOR_NAMES)
        G.eval(), reference.eval()
        with torch.no_grad():
            same = torch.allclose(G(z), reference(z), atol=1e-5)
        _require(same, "with ganlib's weights your generator draws other images: check the order within each block "
                       "(convolution, BatchNorm2d, ReLU) and that Tanh comes last.")
    _no_hard_coded_cuda(cls)
    _success()


def checked_class(yours: Callable, check: Callable, reference: type) -> type:
    """``yours`` when ``check`` passes on it (quietly), else ``reference``, with a printed line saying so.

    The notebook trains your networks once their check passes; until then it trains ganlib's,
    so the rest of the notebook runs.
    """
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(yours)
        return yours
    except Exception as error:  # noqa: BLE001 - any failure of the learner's class: fall back, say why
        print(f"{_name(yours)} does not pass its check yet ({str(error)[:80]}...): "
              f"using ganlib's {reference.__name__}.")
        return reference


# --------------------------------------------------------------------------- notebook 05

def check_slerp(fn: Callable) -> None:
    """Check ``fn(z0, z1, t)``: spherical interpolation, rows ``(n, d)``, ``t`` a float."""
    from ganlib.noise import slerp as reference

    e1, e2 = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    mid = _call(fn, e1, e2, 0.5)
    _require(isinstance(mid, torch.Tensor) and tuple(mid.shape) == (1, 3),
             f"slerp of two (1, 3) rows must have shape (1, 3), got {getattr(mid, 'shape', type(mid))}.")
    _require(not torch.allclose(mid, (e1 + e2) / 2, atol=1e-4),
             "that is lerp (the straight line, norm 0.71 halfway); slerp follows the arc: "
             "sin((1-t) w) / sin(w) * z0 + sin(t w) / sin(w) * z1, with w the angle between them.")
    _require(torch.allclose(mid, (e1 + e2) / math.sqrt(2), atol=1e-4),
             f"halfway between two orthogonal unit vectors slerp gives (e1 + e2) / sqrt(2), got {mid.tolist()}.")
    gen = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(5, 64, generator=gen), torch.randn(5, 64, generator=gen)
    for t in (0.0, 0.3, 1.0):
        got = _call(fn, z0, z1, t)
        _require(torch.allclose(got, reference(z0, z1, t), atol=1e-4),
                 f"at t={t} your result differs from the reference; each row interpolates between its own pair "
                 "(compute the angle per row, norms over the last dimension)."
                 + (" At t=0 you must get z0 and at t=1 z1." if t in (0.0, 1.0) else ""))
    same = _call(fn, z0, z0.clone(), 0.5)
    _require(torch.isfinite(same).all(),
             "for two identical vectors (angle 0) slerp returned NaN/inf: guard against sin(w) = 0 "
             "(fall back to lerp there).")
    _success()


def _truncated_normal_std(t: float) -> float:
    phi = math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(t / math.sqrt(2))
    return math.sqrt(1 - 2 * t * phi / mass)


def check_truncated_noise(fn: Callable) -> None:
    """Check ``fn(n, z_dim, truncation)``: normal noise restricted to ``[-truncation, truncation]``."""
    for t in (1.0, 0.5):
        z = _call(fn, 1000, 100, t)
        _require(isinstance(z, torch.Tensor) and tuple(z.shape) == (1000, 100),
                 f"noise for n=1000, z_dim=100 must be a tensor of shape (1000, 100), got {getattr(z, 'shape', z)}.")
        _require(z.abs().max() <= t + 1e-6, f"every entry must lie in [-t, t] (t = {t}); found {z.abs().max():.3f}.")
        on_edge = (z.abs() > t - 1e-6).float().mean().item()
        _require(on_edge < 0.01,
                 f"{100 * on_edge:.0f}% of the entries sit exactly on +-t: clamping piles samples on the edge. "
                 "Redraw the entries outside [-t, t] instead (or use the inverse CDF).")
        std, want, uniform = z.std().item(), _truncated_normal_std(t), t / math.sqrt(3)
        _require(not abs(std - uniform) < abs(std - want) or abs(std - want) < 0.005,
                 f"the spread looks uniform (std {std:.3f}, a uniform on [-t, t] has {uniform:.3f}): draw normal "
                 "noise and keep the entries inside [-t, t].")
        _require(abs(std - want) < 0.01,
                 f"a normal cut to [-{t}, {t}] has std {want:.3f}, got {std:.3f}.")
    _require(not torch.equal(_call(fn, 10, 4, 1.0), _call(fn, 10, 4, 1.0)), "two calls gave the same noise.")
    _success()


def check_switch_point(fn: Callable) -> None:
    """Check ``fn(fractions, p_end)``: where one class walk first reaches p_end >= 0.5, as a float."""
    from ganlib.interpolation import switch_fractions as reference

    fractions = [0.0, 0.25, 0.5, 0.75, 1.0]
    cases = {
        "a walk that crosses 0.5 between two frames": [0.0, 0.2, 0.4, 0.6, 0.9],
        "a walk that reaches exactly 0.5 at a frame": [0.1, 0.5, 0.7, 0.9, 1.0],
        "a walk that crosses twice (the first crossing counts)": [0.1, 0.7, 0.3, 0.8, 0.9],
        "a walk whose first frame is already above 0.5": [0.6, 0.7, 0.8, 0.9, 1.0],
    }
    for what, probs in cases.items():
        p = torch.tensor(probs)
        got = _call(fn, fractions, p)
        want = float(reference(fractions, p[None])[0])
        _require(isinstance(got, (float, int)) or (isinstance(got, torch.Tensor) and got.numel() == 1),
                 f"return one number (a float), got {type(got).__name__}.")
        got = float(got)
        frames = [t for t, q in zip(fractions, probs) if q >= 0.5]
        if not _close(got, want, 1e-4) and frames and _close(got, frames[0], 1e-6):
            _require(False, f"for {what} you returned the frame {got}; interpolate linearly between the two "
                            "frames around the crossing: t0 + (0.5 - p0) / (p1 - p0) * (t1 - t0).")
        if not _close(got, want, 1e-4) and frames and _close(got, frames[-1], 1e-6):
            _require(False, f"for {what} you returned {got}, the last frame above 0.5: the walk switches at the "
                            "first crossing.")
        _require(_close(got, want, 1e-4), f"for {what} (p_end = {probs}) the switch is at {want:.4f}, got {got:.4f}.")
    never = _call(fn, fractions, torch.tensor([0.1, 0.2, 0.3, 0.2, 0.4]))
    _require(isinstance(never, (float, torch.Tensor)) and math.isnan(float(never)),
             f"a walk that never reaches 0.5 has no switch point: return float('nan'), got {never!r}.")
    _success()


def check_truncate_toward_mean(fn: Callable) -> None:
    """Check ``fn(z, psi, mean=None)``: ``mean + psi * (z - mean)``, a new tensor like ``z``."""
    _no_hard_coded_cuda(fn)
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 5, generator=gen)
    mean = torch.randn(5, generator=gen) + 2.0
    cases = [  # (psi, mean, z's dtype): the answer is computed here, in float64
        (1.0, None, torch.float32), (0.0, None, torch.float32), (0.5, None, torch.float32),
        (1.0, mean, torch.float32), (0.0, mean, torch.float32), (0.3, mean, torch.float32),
        (0.7, None, torch.float64), (0.25, mean.double(), torch.float64),
    ]
    for psi, m, dtype in cases:
        x = z.to(dtype)
        before = x.clone()
        got = _call(fn, x, psi) if m is None else _call(fn, x, psi, m)
        where = f"psi={psi}" + (", mean=None" if m is None else ", a mean vector")
        _require(torch.equal(x, before),
                 f"`{_name(fn)}` changed z in place ({where}): build a new tensor (z * psi, not z.mul_(psi) or "
                 "z *= psi), so that the caller's noise stays as it was.")
        _require(isinstance(got, torch.Tensor) and got.shape == x.shape,
                 f"for z of shape {tuple(x.shape)} return a tensor of the same shape, got "
                 f"{getattr(got, 'shape', type(got).__name__)}.")
        _require(got.dtype == x.dtype,
                 f"z is {x.dtype} but you returned {got.dtype} ({where}): keep z's dtype (no .float(), no new "
                 "tensor with a default dtype).")
        centre = torch.zeros(5, dtype=torch.float64) if m is None else m.double()
        want = centre + psi * (x.double() - centre)
        if torch.allclose(got.double(), want, atol=1e-4):
            continue
        flipped = centre + (1 - psi) * (x.double() - centre)
        _require(not (psi != 0.5 and torch.allclose(got.double(), flipped, atol=1e-4)),
                 f"psi is applied the wrong way round ({where}): psi = 1 must keep z (all the diversity) and "
                 "psi = 0 give the mean; use mean + psi * (z - mean).")
        batch_mean = x.double().mean(0)
        _require(not (m is None and torch.allclose(got.double(), batch_mean + psi * (x.double() - batch_mean),
                                                   atol=1e-4)),
                 "with mean=None use the mean of the noise distribution, 0 for N(0, I), not the mean of this "
                 "batch: truncation must not depend on which other samples are drawn with z.")
        if m is not None:
            _require(not torch.allclose(got.double(), psi * x.double(), atol=1e-4),
                     f"the mean you were given is ignored ({where}): shrink toward it, mean + psi * (z - mean).")
            _require(not torch.allclose(got.double(), psi * x.double() + centre, atol=1e-4),
                     f"subtract the mean before scaling ({where}): mean + psi * (z - mean), not psi * z + mean.")
        if psi == 0:
            _require(False, f"psi = 0 must give the mean for every row ({where}), got rows like "
                            f"{[round(v, 3) for v in got[0].double().tolist()]}.")
        _require(False, f"for {where} expected mean + psi * (z - mean); the first row should be "
                        f"{[round(v, 3) for v in want[0].tolist()]}, "
                        f"got {[round(v, 3) for v in got[0].double().tolist()]}.")
    _success()
