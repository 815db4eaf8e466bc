"""Tests for the training levers: R1, the mismatch term, Recipe, and resuming with the same levers."""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlib.data import TensorBatches
from ganlib.losses import d_loss_bce, d_loss_mismatch, r1_penalty
from ganlib.models import MLPDiscriminator, MLPGenerator, OneHotConditionalDiscriminator, OneHotConditionalGenerator
from ganlib.noise import mismatched_labels, sample_z
from ganlib.recipes import IMPROVED_CGAN, IMPROVED_MLP, PLAIN_MLP, RECIPES, Recipe, make_gan_from_recipe
from ganlib.train import (
    d_step,
    fit,
    g_step,
    gan_step,
    make_gan,
    restore_training,
    run_discriminator,
    run_generator,
    training_state_dict,
)

Z_DIM = 8
MANIFEST = Path(__file__).resolve().parent.parent / "ganlib" / "weights" / "manifest.json"


def tiny_mlp(**levers):
    torch.manual_seed(0)
    return make_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=Z_DIM,
                    seed=0, **{"lr": 1e-3, **levers})


def tiny_cgan(**levers):
    torch.manual_seed(0)
    G, D = OneHotConditionalGenerator(Z_DIM, 10, hidden_dim=8), OneHotConditionalDiscriminator(10, hidden_dim=8)
    return make_gan(G, D, z_dim=Z_DIM, num_classes=10, seed=0, **{"lr": 1e-3, **levers})


def tiny_batches(scale="unit", batch_size=16):
    g = torch.Generator().manual_seed(123)
    x = torch.rand(64, 1, 28, 28, generator=g)
    x = x * 2 - 1 if scale == "tanh" else x
    return TensorBatches(x, torch.arange(64) % 10, batch_size=batch_size, seed=0)


def same_weights(a, b) -> bool:
    tensors_a = [*a.G.state_dict().values(), *a.D.state_dict().values()]
    tensors_b = [*b.G.state_dict().values(), *b.D.state_dict().values()]
    return all(torch.equal(x, y) for x, y in zip(tensors_a, tensors_b))


# --- reference implementations: the steps as they were before the levers moved into ganlib ----------
# (scripts/train_mnist_checkpoints.py trained the shipped models with these; ganlib must match them bit
# for bit, so that the measured recipes stay what was measured and old checkpoints resume exactly.)


def reference_plain_step(gan, x_real, labels):
    n = x_real.shape[0]
    labels = labels if gan.num_classes is not None else None
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    loss_d = d_step(gan.G, gan.D, gan.opt_d, x_real, z, labels, real_target=gan.real_target)
    z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
    loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels)
    if gan.ema is not None:
        gan.ema.update_parameters(gan.G)
    return {"loss_d": loss_d, "loss_g": loss_g}


def reference_mismatch_step(weight):
    def step(gan, x_real, labels):
        n = x_real.shape[0]
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_d = d_step(gan.G, gan.D, gan.opt_d, x_real, z, labels, real_target=gan.real_target)
        shift = torch.randint(1, gan.num_classes, (n,), device=x_real.device, generator=gan.rng)
        wrong = (labels + shift) % gan.num_classes
        gan.opt_d.zero_grad(set_to_none=True)
        logits = gan.D(x_real, wrong)
        loss_mis = weight * F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) / 2
        loss_mis.backward()
        gan.opt_d.step()
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels)
        if gan.ema is not None:
            gan.ema.update_parameters(gan.G)
        return {"loss_d": loss_d, "loss_mismatch": loss_mis.detach(), "loss_g": loss_g}

    return step


def reference_r1_step(gamma):
    def step(gan, x_real, labels):
        n = x_real.shape[0]
        labels = labels if gan.num_classes is not None else None
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        gan.opt_d.zero_grad(set_to_none=True)
        logits_fake = run_discriminator(gan.D, run_generator(gan.G, z, labels).detach(), labels)
        x_real = x_real.detach().requires_grad_(True)
        logits_real = run_discriminator(gan.D, x_real, labels)
        (grad,) = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
        r1 = grad.square().flatten(1).sum(1).mean()
        loss_d = d_loss_bce(logits_real, logits_fake, gan.real_target)
        (loss_d + gamma / 2 * r1).backward()
        gan.opt_d.step()
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_g = g_step(gan.G, gan.D, gan.opt_g, z, labels)
        if gan.ema is not None:
            gan.ema.update_parameters(gan.G)
        return {"loss_d": loss_d.detach(), "r1": r1.detach(), "loss_g": loss_g}

    return step


def run_both(make, reference_step, scale, steps=3):
    ours, theirs = make(), make()
    # the reference steps read the levers from their own closures; give both states the same levers
    batches_a, batches_b = tiny_batches(scale), tiny_batches(scale)
    for _ in range(steps):
        x, y = next(batches_a)
        got = gan_step(ours, x, y)
        x, y = next(batches_b)
        want = reference_step(theirs, x, y)
        assert list(got) == list(want)
        for name in want:
            assert torch.equal(got[name], want[name]), name
    return ours, theirs


# --- R1 ----------------------------------------------------------------------------------------------


def test_r1_penalty_matches_per_image_autograd():
    torch.manual_seed(0)
    D = nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.Tanh(), nn.Linear(5, 1))
    x = torch.randn(4, 1, 3, 4, requires_grad=True)
    got = r1_penalty(D(x), x)
    # by hand: one image at a time, its own gradient, squared norm, then the batch mean
    norms = []
    for i in range(4):
        xi = x[i:i + 1].detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(xi).sum(), xi)
        norms.append(grad.pow(2).sum())
    torch.testing.assert_close(got, torch.stack(norms).mean())
    got.backward()  # create_graph=True: the penalty trains D (all but the last bias, which x does not see)
    assert D[1].weight.grad.abs().sum() > 0 and D[3].weight.grad.abs().sum() > 0


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    D = nn.Linear(6, 1)
    x = torch.randn(5, 6, requires_grad=True)
    torch.testing.assert_close(r1_penalty(D(x), x), D.weight.detach().pow(2).sum())


def test_r1_penalty_needs_images_that_require_grad():
    D = nn.Linear(6, 1)
    x = torch.randn(5, 6)
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(D(x), x)


# --- mismatch ----------------------------------------------------------------------------------------


def test_mismatched_labels_are_never_the_true_ones():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(10, (5000,), generator=g)
    wrong = mismatched_labels(labels, 10, generator=g)
    assert wrong.shape == labels.shape and wrong.dtype == labels.dtype
    assert (wrong != labels).all()
    assert wrong.min() >= 0 and wrong.max() <= 9


def test_mismatched_labels_are_uniform_over_the_other_classes():
    labels = torch.full((90_000,), 3)
    wrong = mismatched_labels(labels, 10, generator=torch.Generator().manual_seed(1))
    counts = torch.bincount(wrong, minlength=10)
    assert counts[3] == 0
    others = counts[torch.arange(10) != 3].double()
    # 10,000 expected per class; binomial sd ~ 94, so 5 % is a wide margin that a biased draw still fails
    assert ((others - 10_000).abs() < 500).all(), counts.tolist()


def test_mismatched_labels_need_two_classes():
    with pytest.raises(ValueError, match="num_classes >= 2"):
        mismatched_labels(torch.zeros(3, dtype=torch.long), 1)


def test_d_loss_mismatch_is_half_the_fake_bce():
    logits = torch.tensor([[-1.0], [2.0]])
    expected = (torch.log1p(torch.exp(torch.tensor(-1.0))) + torch.log1p(torch.exp(torch.tensor(2.0)))) / 4
    torch.testing.assert_close(d_loss_mismatch(logits), expected)


# --- the step: plain is unchanged, each lever is what the shipped models were trained with -----------


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_plain_gan_step_is_bit_identical_to_the_old_one(ema_decay):
    ours, theirs = run_both(lambda: tiny_mlp(ema_decay=ema_decay), reference_plain_step, "unit")
    assert same_weights(ours, theirs)


def test_the_bit_identity_check_can_fail():
    # Control: one lever switched on changes the weights, so the equality above means something.
    ours, theirs = tiny_mlp(real_target=0.9), tiny_mlp()
    x, y = next(tiny_batches())
    gan_step(ours, x, y), reference_plain_step(theirs, x, y)
    assert not same_weights(ours, theirs)


def test_r1_gan_step_matches_the_measured_r1_step():
    ours, theirs = run_both(lambda: tiny_mlp(real_target=0.9, ema_decay=0.9, r1_gamma=1.0),
                            reference_r1_step(1.0), "unit")
    assert same_weights(ours, theirs)


def test_mismatch_gan_step_matches_the_measured_mismatch_step():
    ours, theirs = run_both(lambda: tiny_cgan(real_target=0.9, ema_decay=0.9, mismatch_weight=1.0),
                            reference_mismatch_step(1.0), "tanh")
    assert same_weights(ours, theirs)
    for a, b in zip(ours.ema.parameters(), theirs.ema.parameters()):
        assert torch.equal(a, b)


def test_levers_change_training_and_are_logged():
    plain, both = tiny_cgan(), tiny_cgan(r1_gamma=1.0, mismatch_weight=1.0)
    fit(plain, tiny_batches("tanh"), 4, log_every=2, progress=False)
    history = fit(both, tiny_batches("tanh"), 4, log_every=2, progress=False)
    assert set(history) == {"step", "seconds", "loss_d", "loss_g", "r1", "loss_mismatch"}
    assert all(v > 0 for v in history["r1"] + history["loss_mismatch"])
    assert set(plain.history) == {"step", "seconds", "loss_d", "loss_g"}
    assert not same_weights(plain, both)


@pytest.mark.parametrize("kwargs, match", [
    (dict(r1_gamma=-1.0), "r1_gamma"),
    (dict(mismatch_weight=float("nan")), "mismatch_weight"),
    (dict(mismatch_weight=1.0), "conditional"),  # an unconditional GAN has no label to get wrong
    (dict(real_target=0.0), "real_target"),
])
def test_make_gan_rejects_bad_levers(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_mlp(**kwargs)


# --- resume ------------------------------------------------------------------------------------------


def test_resume_with_levers_matches_uninterrupted_run(tmp_path):
    levers = dict(real_target=0.9, ema_decay=0.9, r1_gamma=1.0, mismatch_weight=1.0)
    reference = tiny_cgan(**levers)
    fit(reference, tiny_batches("tanh"), 6, log_every=2, progress=False)
    path = tmp_path / "run.pt"
    fit(tiny_cgan(**levers), tiny_batches("tanh"), 2, log_every=2, checkpoint_path=path, progress=False)
    resumed = tiny_cgan(**levers)
    fit(resumed, tiny_batches("tanh"), 6, log_every=2, checkpoint_path=path, progress=False)
    assert resumed.history["loss_mismatch"] == reference.history["loss_mismatch"]
    assert resumed.history["r1"] == reference.history["r1"]
    assert same_weights(resumed, reference)


@pytest.mark.parametrize("changed, match", [
    (dict(r1_gamma=0.0), "r1_gamma: checkpoint 1.0, this run 0.0"),
    (dict(r1_gamma=1.0, lr=2e-3), "lr: checkpoint 0.001"),
    (dict(r1_gamma=1.0, real_target=0.9), "real_target"),
    (dict(r1_gamma=1.0, ema_decay=0.99), "ema_decay"),
])
def test_resume_with_other_levers_is_refused(tmp_path, changed, match):
    path = tmp_path / "run.pt"
    fit(tiny_mlp(r1_gamma=1.0), tiny_batches(), 2, log_every=2, checkpoint_path=path, progress=False)
    other = tiny_mlp(**changed)
    before = copy.deepcopy(other.D.state_dict())
    with pytest.raises(ValueError, match=match):
        fit(other, tiny_batches(), 4, log_every=2, checkpoint_path=path, progress=False)
    assert other.step == 0 and all(torch.equal(before[k], v) for k, v in other.D.state_dict().items())


def test_resume_with_another_batch_size_is_refused(tmp_path):
    path = tmp_path / "run.pt"
    fit(tiny_mlp(), tiny_batches(batch_size=16), 2, log_every=2, checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match="batch_size: checkpoint 16, this run 8"):
        fit(tiny_mlp(), tiny_batches(batch_size=8), 4, log_every=2, checkpoint_path=path, progress=False)


def test_checkpoints_without_levers_still_resume():
    state = training_state_dict(tiny_mlp(r1_gamma=1.0))
    del state["levers"]  # written before the levers were saved
    restore_training(tiny_mlp(), state)


# --- Recipe --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    (dict(r1_gamma=-1.0), "r1_gamma must be a number >= 0"),
    (dict(mismatch_weight=-0.5), "mismatch_weight"),
    (dict(lr=0.0), "lr must be a positive"),
    (dict(lr=-2e-4), "lr must be a positive"),
    (dict(lr_d=0.0), "lr_d must be a positive"),
    (dict(real_target=0.0), r"real_target must be in \(0, 1\]"),
    (dict(real_target=1.1), r"real_target must be in \(0, 1\]"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(batch_size=0), "batch_size"),
    (dict(betas=(0.5, 1.0)), "betas"),
])
def test_recipe_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**kwargs)


def test_recipe_names_every_problem_at_once():
    with pytest.raises(ValueError, match="lr must .*r1_gamma must"):
        Recipe(lr=0.0, r1_gamma=-1.0)


def test_make_gan_from_recipe_sets_every_lever():
    recipe = dataclasses.replace(IMPROVED_CGAN, lr_d=4e-4, r1_gamma=0.5)
    torch.manual_seed(0)
    gan = make_gan_from_recipe(OneHotConditionalGenerator(Z_DIM, 10, hidden_dim=8),
                               OneHotConditionalDiscriminator(10, hidden_dim=8), recipe, z_dim=Z_DIM, num_classes=10)
    assert gan.opt_g.param_groups[0]["lr"] == 2e-4 and gan.opt_d.param_groups[0]["lr"] == 4e-4
    assert gan.opt_d.param_groups[0]["betas"] == (0.5, 0.999)
    assert (gan.real_target, gan.r1_gamma, gan.mismatch_weight, gan.ema.decay) == (0.9, 0.5, 1.0, 0.999)
    plain = make_gan_from_recipe(MLPGenerator(Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), PLAIN_MLP,
                                 z_dim=Z_DIM)
    assert plain.ema is None and plain.opt_g.param_groups[0]["betas"] == (0.9, 0.999)
    assert (plain.real_target, plain.r1_gamma, plain.mismatch_weight) == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="conditional"):
        make_gan_from_recipe(MLPGenerator(Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), IMPROVED_CGAN,
                             z_dim=Z_DIM)


def test_recipes_are_the_settings_the_shipped_models_record():
    # The manifest holds the settings each shipped run printed; RECIPES must still name them.
    models = json.loads(MANIFEST.read_text())["models"]
    checked = 0
    entries = [e for m in models.values() for e in (m, m.get("baseline")) if isinstance(e, dict)]
    for entry in entries:
        command = shlex.split(entry.get("training_command", ""))
        if "scripts/train_mnist_checkpoints.py" not in command:
            continue
        model = command[command.index("--model") + 1]
        name = command[command.index("--recipe") + 1] if "--recipe" in command else "improved"
        recipe = dataclasses.asdict(RECIPES[model][name])
        for key, value in entry["settings"].items():
            assert recipe[key] == (tuple(value) if key == "betas" else value), (model, name, key)
        checked += 1
    assert checked == 6
    assert RECIPES["mlp_gan_mnist"]["r1g1"] == IMPROVED_MLP


def test_fit_runs_a_recipe_with_its_default_step():
    torch.manual_seed(0)
    gan = make_gan_from_recipe(MLPGenerator(Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), IMPROVED_MLP,
                               z_dim=Z_DIM)
    fit(gan, tiny_batches(batch_size=IMPROVED_MLP.batch_size // 8), 2, log_every=2, progress=False)
    assert "r1" in gan.history and gan.ema is not None


def test_recalibrate_batchnorm_averages_fresh_batch_statistics():
    from ganlib.sampling import recalibrate_batchnorm

    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    G[1].running_mean.fill_(5.0)  # stale statistics, as an EMA of the weights carries them
    rng = torch.Generator().manual_seed(7)
    with torch.no_grad():
        expected = torch.stack([G[0](torch.randn(32, 4, generator=rng)).mean(0) for _ in range(3)]).mean(0)
    out = recalibrate_batchnorm(G, 4, num_batches=3, batch_size=32, seed=7)
    assert out is G and not G.training and G[1].momentum == 0.1
    torch.testing.assert_close(G[1].running_mean, expected)


@pytest.mark.parametrize("model, recipe", [("mlp_gan_mnist", "r1g1"), ("cgan_onehot_mnist", "improved")])
def test_training_script_trains_a_recipe_and_writes_its_summary_next_to_out(tmp_path, monkeypatch, model, recipe,
                                                                           tiny_mnist_writer):
    import importlib.util

    tiny_mnist_writer(tmp_path / "data", n_train=130)  # the recipes' batches hold up to 128 images
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "data"))
    script = Path(__file__).resolve().parent.parent / "scripts" / "train_mnist_checkpoints.py"
    spec = importlib.util.spec_from_file_location("train_mnist_checkpoints", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, checkpoint = tmp_path / "weights" / "generator.pt", tmp_path / "ckpt" / "train.pt"
    module.main(["--model", model, "--recipe", recipe, "--steps", "2", "--chunk", "2", "--eval-every", "0",
                 "--device", "cpu", "--out", str(out), "--checkpoint", str(checkpoint)])
    summary = json.loads((out.parent / "summary.json").read_text())  # next to --out, not in runs/
    settings = json.loads(json.dumps(dataclasses.asdict(RECIPES[model][recipe])))  # betas as a JSON list
    assert summary["steps"] == 2 and summary["settings"] == settings
    saved = torch.load(checkpoint, weights_only=True)
    expected = {"r1"} if recipe == "r1g1" else {"loss_mismatch"}
    assert expected <= set(saved["history"]) and saved["levers"]["batch_size"] == RECIPES[model][recipe].batch_size
    assert out.is_file()
