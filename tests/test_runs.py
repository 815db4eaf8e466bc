"""Tests for the named runs and the training levers: R1, the mismatch term, and resuming with the same levers."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import shlex
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganlib.data import TensorBatches
from ganlib.losses import BCELoss, d_loss_bce, d_loss_mismatch, r1_penalty
from ganlib.models import MLPDiscriminator, MLPGenerator, OneHotConditionalDiscriminator, OneHotConditionalGenerator
from ganlib.noise import mismatched_labels, sample_z
from ganlib.runs import (
    CGAN_ONEHOT_MISMATCH_EMA,
    COURSE_DCGAN,
    COURSE_MLP_GAN,
    MLP_GAN_R1_EMA,
    RUNS,
    SELF_CONDITIONED_DCGAN,
    TEXTBOOK_MLP_GAN,
    Networks,
    Run,
)
from ganlib.train import fit, gan_step, make_gan, restore_training, training_state_dict

Z_DIM = 8
MANIFEST = Path(__file__).resolve().parent.parent / "ganlib" / "weights" / "manifest.json"


def lever_step(real_target=1.0, r1_gamma=0.0, mismatch_weight=0.0):
    return partial(gan_step, loss=BCELoss(real_target), r1_gamma=r1_gamma, mismatch_weight=mismatch_weight)


def tiny_mlp(real_target=1.0, r1_gamma=0.0, mismatch_weight=0.0, **settings):
    torch.manual_seed(0)
    return make_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=Z_DIM,
                    seed=0, train_step=lever_step(real_target, r1_gamma, mismatch_weight), **{"lr": 1e-3, **settings})


def tiny_cgan(real_target=1.0, r1_gamma=0.0, mismatch_weight=0.0, **settings):
    torch.manual_seed(0)
    G, D = OneHotConditionalGenerator(Z_DIM, 10, hidden_dim=8), OneHotConditionalDiscriminator(10, hidden_dim=8)
    return make_gan(G, D, z_dim=Z_DIM, num_classes=10, seed=0, train_step=lever_step(real_target, r1_gamma,
                    mismatch_weight), **{"lr": 1e-3, **settings})


def tiny_batches(scale="unit", batch_size=16):
    g = torch.Generator().manual_seed(123)
    x = torch.rand(64, 1, 28, 28, generator=g)
    x = x * 2 - 1 if scale == "tanh" else x
    return TensorBatches(x, torch.arange(64) % 10, batch_size=batch_size, seed=0)


def same_weights(a, b) -> bool:
    tensors_a = [*a.G.state_dict().values(), *a.D.state_dict().values()]
    tensors_b = [*b.G.state_dict().values(), *b.D.state_dict().values()]
    return all(torch.equal(x, y) for x, y in zip(tensors_a, tensors_b))


# --- reference implementations: the steps the shipped models were trained with -----------------------
# (written out here in full; ganlib must match them bit for bit, so that the measured runs stay what was
# measured and old checkpoints resume exactly.)


def reference_d_update(gan, x_real, z, labels, real_target, r1_gamma=0.0):
    gan.opt_d.zero_grad(set_to_none=True)
    fake = gan.G(z) if labels is None else gan.G(z, labels)
    logits_fake = gan.D(fake.detach()) if labels is None else gan.D(fake.detach(), labels)
    if r1_gamma:
        x_real = x_real.detach().requires_grad_(True)
    logits_real = gan.D(x_real) if labels is None else gan.D(x_real, labels)
    loss_d = d_loss_bce(logits_real, logits_fake, real_target)
    extra = {}
    loss = loss_d
    if r1_gamma:
        (grad,) = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
        r1 = grad.square().flatten(1).sum(1).mean()
        loss = loss_d + r1_gamma / 2 * r1
        extra["r1"] = r1.detach()
    loss.backward()
    gan.opt_d.step()
    return loss_d.detach(), extra


def reference_g_update(gan, z, labels):
    gan.opt_g.zero_grad(set_to_none=True)
    fake = gan.G(z) if labels is None else gan.G(z, labels)
    logits = gan.D(fake) if labels is None else gan.D(fake, labels)
    loss_g = F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))
    loss_g.backward()
    gan.opt_g.step()
    if gan.ema is not None:
        gan.ema.update_parameters(gan.G)
    return loss_g.detach()


def reference_step(real_target=1.0, r1_gamma=0.0, mismatch_weight=0.0):
    def step(gan, x_real, labels):
        n = x_real.shape[0]
        labels = labels if gan.num_classes is not None else None
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        loss_d, extra = reference_d_update(gan, x_real, z, labels, real_target, r1_gamma)
        if mismatch_weight:
            shift = torch.randint(1, gan.num_classes, (n,), device=x_real.device, generator=gan.rng)
            wrong = (labels + shift) % gan.num_classes
            gan.opt_d.zero_grad(set_to_none=True)
            logits = gan.D(x_real, wrong)
            loss_mis = mismatch_weight * F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits)) / 2
            loss_mis.backward()
            gan.opt_d.step()
            extra["loss_mismatch"] = loss_mis.detach()
        z = sample_z(n, gan.z_dim, device=x_real.device, generator=gan.rng)
        return {"loss_d": loss_d, **extra, "loss_g": reference_g_update(gan, z, labels)}

    return step


def run_both(make, reference, scale, steps=3):
    ours, theirs = make(), make()
    batches_a, batches_b = tiny_batches(scale), tiny_batches(scale)
    for _ in range(steps):
        x, y = next(batches_a)
        got = ours.train_step(ours, x, y)
        x, y = next(batches_b)
        want = reference(theirs, x, y)
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
def test_plain_gan_step_is_bit_identical_to_the_reference(ema_decay):
    ours, theirs = run_both(lambda: tiny_mlp(ema_decay=ema_decay), reference_step(), "unit")
    assert same_weights(ours, theirs)


def test_the_bit_identity_check_can_fail():
    # Control: one lever switched on changes the weights, so the equality above means something.
    ours, theirs = tiny_mlp(real_target=0.9), tiny_mlp()
    x, y = next(tiny_batches())
    ours.train_step(ours, x, y), reference_step()(theirs, x, y)
    assert not same_weights(ours, theirs)


def test_r1_gan_step_matches_the_measured_r1_step():
    ours, theirs = run_both(lambda: tiny_mlp(real_target=0.9, ema_decay=0.9, r1_gamma=1.0),
                            reference_step(0.9, r1_gamma=1.0), "unit")
    assert same_weights(ours, theirs)


def test_mismatch_gan_step_matches_the_measured_mismatch_step():
    ours, theirs = run_both(lambda: tiny_cgan(real_target=0.9, ema_decay=0.9, mismatch_weight=1.0),
                            reference_step(0.9, mismatch_weight=1.0), "tanh")
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


@pytest.mark.parametrize("step, match", [
    (partial(gan_step, r1_gamma=-1.0), "r1_gamma"),
    (partial(gan_step, mismatch_weight=float("nan")), "mismatch_weight"),
    (partial(gan_step, mismatch_weight=1.0), "conditional"),  # an unconditional GAN has no label to get wrong
])
def test_a_run_rejects_bad_levers(step, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(COURSE_MLP_GAN, step=step)


@pytest.mark.parametrize("real_target", [0.0, 1.1])
def test_bce_loss_rejects_a_bad_real_target(real_target):
    with pytest.raises(ValueError, match=r"real_target must be in \(0, 1\]"):
        BCELoss(real_target)


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


# --- Run ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr must be a positive"),
    (dict(lr=-2e-4), "lr must be a positive"),
    (dict(lr_d=0.0), "lr_d must be a positive"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(batch_size=0), "batch_size"),
    (dict(betas=(0.5, 1.0)), "betas"),
    (dict(clusters=20), "clusters"),
])
def test_run_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(COURSE_MLP_GAN, **kwargs)


def test_run_names_every_problem_at_once():
    with pytest.raises(ValueError, match="lr must .*r1_gamma must"):
        dataclasses.replace(COURSE_MLP_GAN, lr=0.0, step=partial(gan_step, r1_gamma=-1.0))


def test_run_build_sets_every_setting():
    tiny = Networks(OneHotConditionalGenerator, OneHotConditionalDiscriminator,
                    {"z_dim": Z_DIM, "num_classes": 10, "hidden_dim": 8}, {"num_classes": 10, "hidden_dim": 8})
    run = dataclasses.replace(CGAN_ONEHOT_MISMATCH_EMA, networks=tiny, lr_d=4e-4)
    gan = run.build(seed=0)
    assert gan.opt_g.param_groups[0]["lr"] == 2e-4 and gan.opt_d.param_groups[0]["lr"] == 4e-4
    assert gan.opt_d.param_groups[0]["betas"] == (0.5, 0.999) and gan.num_classes == 10 and gan.z_dim == Z_DIM
    assert gan.ema_decay == 0.999 and gan.train_step is run.step
    textbook = TEXTBOOK_MLP_GAN.build()
    assert textbook.ema is None and textbook.opt_g.param_groups[0]["betas"] == (0.9, 0.999)
    assert textbook.train_step is gan_step and textbook.num_classes is None


def settings_of(run: Run) -> dict:
    """A run's settings under the names the manifest records them with."""
    keywords = getattr(run.step, "keywords", {})
    return {"lr": run.lr, "lr_d": run.lr_d, "betas": list(run.betas), "batch_size": run.batch_size,
            "ema_decay": run.ema_decay, "real_target": keywords.get("loss", BCELoss()).real_target,
            "r1_gamma": keywords.get("r1_gamma", 0.0), "mismatch_weight": keywords.get("mismatch_weight", 0.0)}


def test_runs_are_the_settings_and_networks_the_shipped_models_record():
    # The manifest holds the settings each shipped run printed; its named run must still be them.
    models = json.loads(MANIFEST.read_text())["models"]
    checked = 0
    entries = [e for m in models.values() for e in (m, m.get("textbook_run")) if isinstance(e, dict)]
    for entry in entries:
        if "settings" not in entry or "run" not in entry:
            continue
        run = RUNS[entry["run"]]
        expected = settings_of(run)
        for key, value in entry["settings"].items():
            assert expected[key] == value, (entry["run"], key)
        command = shlex.split(entry["training_command"])
        assert command[command.index("--run") + 1] == entry["run"]
        checked += 1
    assert checked == 6
    for name, entry in models.items():  # every generator's architecture is its run's, built from code
        if "run" in entry and "class" in entry:
            networks = RUNS[entry["run"]].networks
            assert networks.generator.__name__ == entry["class"], name
            assert {**entry["kwargs"]} == {**networks.generator_args}, name


def test_runs_are_named_for_what_they_are():
    for name in RUNS:
        assert not any(word in name.split("_") for word in ("PLAIN", "BASELINE", "IMPROVED", "FAST")), name


def test_course_dcgan_is_an_unconditional_per_image_dcgan_that_trains():
    gan = COURSE_DCGAN.build(seed=0)
    assert gan.num_classes is None and gan.D.norm == "image" and type(gan.G).__name__ == "DCGANGenerator"
    assert COURSE_DCGAN.step.keywords["r1_gamma"] == 0.1 and COURSE_DCGAN.clusters is None
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    history = fit(gan, TensorBatches(x, torch.zeros(64, dtype=torch.long), batch_size=16, seed=0), 3, log_every=3,
                  progress=False)
    assert set(history) == {"step", "seconds", "loss_d", "r1", "loss_g"} and gan.step == 3
    assert all(torch.isfinite(torch.tensor(v)).all() for v in history.values())


def test_self_conditioned_run_trains_on_clusters():
    from ganlib.clusters import cluster_images

    x = torch.rand(60, 1, 28, 28) * 2 - 1
    clustering = cluster_images(x, SELF_CONDITIONED_DCGAN.clusters, seed=0)
    gan = SELF_CONDITIONED_DCGAN.build(seed=0)
    assert gan.num_classes == 20
    fit(gan, TensorBatches(x, clustering.assignment, batch_size=8, seed=0), 2, log_every=2, progress=False)
    assert "loss_mismatch" in gan.history


def test_fit_runs_a_run_with_its_own_step():
    tiny = Networks(MLPGenerator, MLPDiscriminator, {"z_dim": Z_DIM, "hidden_dim": 8}, {"hidden_dim": 8})
    gan = dataclasses.replace(MLP_GAN_R1_EMA, networks=tiny).build()
    fit(gan, tiny_batches(batch_size=16), 2, log_every=2, progress=False)
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


@pytest.mark.parametrize("name", ["MLP_GAN_R1_EMA", "CGAN_ONEHOT_MISMATCH_EMA"])
def test_training_script_trains_a_run_and_writes_its_summary_next_to_out(tmp_path, monkeypatch, name,
                                                                        tiny_mnist_writer):
    tiny_mnist_writer(tmp_path / "data", n_train=130)  # the runs' batches hold up to 128 images
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path / "data"))
    script = Path(__file__).resolve().parent.parent / "maintainer" / "train_mnist_checkpoints.py"
    spec = importlib.util.spec_from_file_location("train_mnist_checkpoints", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, checkpoint = tmp_path / "weights" / "generator.pt", tmp_path / "ckpt" / "train.pt"
    module.main(["--run", name, "--steps", "2", "--chunk", "2", "--eval-every", "0",
                 "--device", "cpu", "--out", str(out), "--checkpoint", str(checkpoint)])
    summary = json.loads((out.parent / "summary.json").read_text())  # next to --out, not in runs/
    assert summary["steps"] == 2 and summary["run"] == name and summary["settings"] == repr(RUNS[name])
    saved = torch.load(checkpoint, weights_only=True)
    expected = {"r1"} if "R1" in name else {"loss_mismatch"}
    assert expected <= set(saved["history"]) and saved["levers"]["batch_size"] == RUNS[name].batch_size
    assert out.is_file()


def test_acgan_training_script_trains_the_named_shipped_run():
    script = Path(__file__).resolve().parent.parent / "maintainer" / "train_acgan_cifar10.py"
    spec = importlib.util.spec_from_file_location("train_acgan_cifar10", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = json.loads(MANIFEST.read_text())["models"]["acgan_cifar10"]
    assert shipped["run"] == "ACGAN_WGAN_GP_CPU"
    # the run's settings plus the schedule and speed options of the shipped command
    args = module.parse_args(["--run", "ACGAN_WGAN_GP_CPU", "--mode-seeking", "1", "--lr-decay-from", "0.3",
                              "--bf16", "auto"])
    assert module.recipe(args) == shipped["recipe"]
    assert module.parse_args(["--run", "ACGAN_WGAN_GP_CPU", "--lr", "1e-4"]).lr == 1e-4  # options still win
    command = shlex.split(shipped["training_command"])
    assert module.recipe(module.parse_args(command[2:])) == shipped["recipe"]  # the recorded command trains it


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_run_builds_and_takes_a_step(name):
    run = RUNS[name]
    gan = run.build(seed=0)
    size, channels = (32, 3) if "ACGAN" in name else (28, 1)
    x = torch.rand(4, channels, size, size) * 2 - 1
    labels = torch.arange(4) % (run.num_classes or 1)
    losses = gan.train_step(gan, x, labels)
    assert losses and all(torch.isfinite(v) for v in losses.values()), name
    assert (gan.ema is None) == (run.ema_decay is None) and gan.opt_g.param_groups[0]["lr"] == run.lr
