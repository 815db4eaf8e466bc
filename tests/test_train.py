"""Tests for ganlib.train: the D and G steps, fit's history, exact resume and divergence."""

from __future__ import annotations

import pytest
import torch

from ganlib.checkpoints import load_checkpoint
from ganlib.data import TensorBatches
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.train import (
    TrainingDiverged,
    d_step,
    fit,
    g_step,
    make_gan,
    restore_training,
    training_state_dict,
)

Z_DIM = 8


def tiny_models():
    """Small MLP pair (hidden 8) so a training step takes milliseconds; same init each call."""
    torch.manual_seed(0)
    return MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8)


def tiny_gan(ema_decay=None):
    generator, discriminator = tiny_models()
    return make_gan(generator, discriminator, z_dim=Z_DIM, lr=1e-3, ema_decay=ema_decay, seed=0)


def tiny_batches(seed=0):
    g = torch.Generator().manual_seed(123)
    x = torch.rand(64, 1, 28, 28, generator=g)
    return TensorBatches(x, torch.arange(64) % 10, batch_size=16, seed=seed)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_d_step_leaves_generator_untouched():
    generator, discriminator = tiny_models()
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    before_g, before_d = params(generator), params(discriminator)
    loss = d_step(generator, discriminator, opt_d, torch.rand(16, 1, 28, 28), torch.randn(16, Z_DIM))
    assert loss.dim() == 0 and not loss.requires_grad
    assert all(p.grad is None for p in generator.parameters())  # thanks to .detach()
    assert all(torch.equal(a, b) for a, b in zip(before_g, generator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, discriminator.parameters()))


def test_d_step_keeps_existing_generator_gradients():
    generator, discriminator = tiny_models()
    for p in generator.parameters():
        p.grad = torch.full_like(p, 0.5)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    d_step(generator, discriminator, opt_d, torch.rand(16, 1, 28, 28), torch.randn(16, Z_DIM))
    assert all(torch.all(p.grad == 0.5) for p in generator.parameters())


def test_the_gradient_check_can_fail_without_detach():
    # Control: the same D loss built on non-detached fakes does fill G's gradients,
    # so the check above really tests the .detach().
    generator, discriminator = tiny_models()
    x_fake = generator(torch.randn(16, Z_DIM))
    discriminator(x_fake).mean().backward()
    assert any(p.grad is not None for p in generator.parameters())


def test_g_step_leaves_discriminator_weights_unchanged():
    generator, discriminator = tiny_models()
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
    before_g, before_d = params(generator), params(discriminator)
    loss = g_step(generator, discriminator, opt_g, torch.randn(16, Z_DIM))
    assert loss.dim() == 0 and not loss.requires_grad
    assert all(torch.equal(a, b) for a, b in zip(before_d, discriminator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_g, generator.parameters()))


def test_fit_produces_history_and_calls_on_log():
    gan = tiny_gan()
    logged = []
    history = fit(gan, tiny_batches(), 6, log_every=2, on_log=lambda g: logged.append(g.step), progress=False)
    assert history is gan.history and gan.step == 6
    assert history["step"] == [2, 4, 6] and logged == [2, 4, 6]
    assert set(history) == {"step", "seconds", "loss_d", "loss_g"}
    assert all(len(v) == 3 for v in history.values())
    assert all(torch.isfinite(torch.tensor(history[k])).all() for k in ("loss_d", "loss_g"))
    assert history["seconds"] == sorted(history["seconds"])


def test_fit_stops_when_on_log_returns_true_and_checkpoints_there(tmp_path):
    gan, path = tiny_gan(), tmp_path / "run.pt"
    fit(gan, tiny_batches(), 20, log_every=2, checkpoint_every=10, checkpoint_path=path,
        on_log=lambda g: g.step == 6, progress=False)
    assert gan.step == 6 and gan.history["step"] == [2, 4, 6]
    assert load_checkpoint(path)["step"] == 6  # the early exit is resumable


def test_fit_stops_at_the_first_log_past_its_time_budget():
    gan = tiny_gan()
    fit(gan, tiny_batches(), 20, log_every=2, time_budget=0.0, progress=False)
    assert gan.step == 2
    fit(gan, tiny_batches(), 8, log_every=2, time_budget=1e6, progress=False)
    assert gan.step == 8


def test_fit_does_not_count_on_log_time_as_training_time():
    import time

    gan = tiny_gan()
    fit(gan, tiny_batches(), 6, log_every=2, on_log=lambda g: time.sleep(0.2), progress=False)
    assert gan.seconds < 0.2  # three slow logs (0.6 s), a few milliseconds of training


def test_fit_logs_the_last_partial_window():
    history = fit(tiny_gan(), tiny_batches(), 5, log_every=2, progress=False)
    assert history["step"] == [2, 4, 5]


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_resumed_fit_matches_uninterrupted_run_exactly(tmp_path, ema_decay):
    reference = tiny_gan(ema_decay)
    fit(reference, tiny_batches(), 8, log_every=2, progress=False)

    path = tmp_path / "run.pt"
    first = tiny_gan(ema_decay)
    fit(first, tiny_batches(), 4, log_every=2, checkpoint_path=path, checkpoint_every=2, progress=False)
    # A fresh process would rebuild everything from scratch, then resume from the file.
    resumed = tiny_gan(ema_decay)
    batches = tiny_batches()
    fit(resumed, batches, 8, log_every=2, checkpoint_path=path, checkpoint_every=2, progress=False)

    assert resumed.step == 8
    for key in ("step", "loss_d", "loss_g"):
        assert resumed.history[key] == reference.history[key]
    for a, b in zip(reference.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(reference.D.parameters(), resumed.D.parameters()):
        assert torch.equal(a, b)
    if ema_decay is not None:
        for a, b in zip(reference.ema.parameters(), resumed.ema.parameters()):
            assert torch.equal(a, b)


def test_fit_stops_on_nan_and_keeps_last_good_checkpoint(tmp_path):
    path = tmp_path / "run.pt"

    def step_fn(gan, x_real, labels):
        bad = gan.step >= 4
        return {"loss_d": torch.tensor(float("nan") if bad else 0.5), "loss_g": torch.tensor(1.0)}

    gan = tiny_gan()
    with pytest.raises(TrainingDiverged, match="loss_d"):
        fit(gan, tiny_batches(), 10, step_fn=step_fn, log_every=2, checkpoint_path=path,
            checkpoint_every=2, progress=False)
    saved = torch.load(path, weights_only=True)
    assert saved["step"] == 4 and saved["history"]["loss_d"] == [0.5, 0.5]


def test_fit_stops_on_exploding_loss():
    def step_fn(gan, x_real, labels):
        return {"loss_d": torch.tensor(1e6)}

    with pytest.raises(TrainingDiverged):
        fit(tiny_gan(), tiny_batches(), 4, step_fn=step_fn, log_every=2, progress=False)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_steps=-1), "num_steps"),
        (dict(num_steps=4, log_every=0), "log_every"),
        (dict(num_steps=4, log_every=3, checkpoint_every=4), "multiple"),
    ],
)
def test_fit_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit(tiny_gan(), tiny_batches(), progress=False, **kwargs)


def test_restore_rejects_other_model_or_file():
    gan = tiny_gan()
    state = training_state_dict(gan)
    state["model_names"]["generator"] = "DCGANGenerator"
    with pytest.raises(ValueError, match="DCGANGenerator"):
        restore_training(tiny_gan(), state)
    with pytest.raises(ValueError, match="not a ganlib training checkpoint"):
        restore_training(tiny_gan(), {"generator": {}})


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(lr_d=-1.0), dict(ema_decay=1.0)])
def test_make_gan_rejects_bad_settings(kwargs):
    generator, discriminator = tiny_models()
    with pytest.raises(ValueError):
        make_gan(generator, discriminator, z_dim=Z_DIM, **kwargs)
