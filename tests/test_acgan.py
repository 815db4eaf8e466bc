"""Tests for the ACGAN / WGAN-GP networks and training pieces of notebook 04."""

from __future__ import annotations

import functools
import json
import math

import pytest
import torch
from torch import nn

from ganlib.acgan_training import (
    ACGAN_BETAS,
    acgan_step,
    class_noise,
    fixed_grid_noise,
    frozen,
    make_acgan,
)
from ganlib.checkpoints import load_checkpoint
from ganlib.classifier import evaluate_accuracy, train_classifier
from ganlib.data import TensorBatches
from ganlib.data.cifar10 import CIFAR10_CLASSES
from ganlib.losses import gradient_penalty
from ganlib.models import ACGANCritic, ACGANGenerator
from ganlib.train import fit
from ganlib.utils import count_parameters


def _conv(cin, cout, k):
    return cin * cout * k * k + cout


def test_full_size_shapes_and_parameter_counts():
    torch.manual_seed(0)
    D, G = ACGANCritic(), ACGANGenerator()
    sizes = [32, 16, 16, 8, 8, 8, 8, 4]
    expected_d = (_conv(3, 196, 3) + 7 * _conv(196, 196, 3) + sum(2 * 196 * s * s for s in sizes)
                  + (196 + 1) + (196 * 10 + 10))
    expected_g = ((128 * 196 * 16 + 196 * 16) + 2 * 196 * 16 + 3 * _conv(196, 196, 4)
                  + 4 * _conv(196, 196, 3) + 7 * 2 * 196 + _conv(196, 3, 3))
    assert count_parameters(D) == expected_d == 3_137_971
    assert count_parameters(G) == expected_g == 3_647_171
    z = torch.randn(2, 128)
    x = G(z)
    assert x.shape == (2, 3, 32, 32) and x.abs().max() <= 1.0
    score, logits = D(x)
    assert score.shape == (2, 1) and logits.shape == (2, 10)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())


def test_transposed_convs_double_the_size():
    G = ACGANGenerator(width=4)
    h = G.fc(torch.randn(3, 128)).view(3, 4, 4, 4)
    sizes = []
    for layer in G.body:
        h = layer(h)
        if isinstance(layer, nn.ConvTranspose2d):
            sizes.append(h.shape[-1])
    assert sizes == [8, 16, 32]


def test_critic_treats_each_sample_alone():
    # LayerNorm, not BatchNorm: a sample's outputs do not depend on the rest of the batch,
    # which is what makes the per-sample gradient penalty meaningful.
    torch.manual_seed(0)
    D = ACGANCritic(width=8)
    x = torch.randn(4, 3, 32, 32)
    score, logits = D(x)
    score0, logits0 = D(x[:1])
    assert torch.allclose(score[:1], score0, atol=1e-5) and torch.allclose(logits[:1], logits0, atol=1e-5)


def test_wrong_inputs_raise():
    with pytest.raises(ValueError, match="images of shape"):
        ACGANCritic(width=4)(torch.randn(2, 3, 28, 28))
    with pytest.raises(ValueError, match="noise of shape"):
        ACGANGenerator(width=4)(torch.randn(2, 100))


def test_gradient_penalty_matches_a_per_sample_loop():
    torch.manual_seed(0)
    D = ACGANCritic(width=8)
    x_real, x_fake = torch.randn(3, 3, 32, 32), torch.randn(3, 3, 32, 32)
    penalty = gradient_penalty(D.score, x_real, x_fake, generator=torch.Generator().manual_seed(7))
    penalty.backward()
    # fc10 (the class head) plays no part in the score, so it gets no gradient.
    library_grads = [None if p.grad is None else p.grad.clone() for p in D.parameters()]
    assert D.fc10.weight.grad is None and D.fc1.weight.grad is not None
    D.zero_grad()

    eps = torch.rand(3, 1, 1, 1, generator=torch.Generator().manual_seed(7))
    terms = []
    for i in range(3):  # one image at a time: the textbook definition
        x_hat = (eps[i] * x_real[i] + (1 - eps[i]) * x_fake[i]).unsqueeze(0).requires_grad_(True)
        (grad,) = torch.autograd.grad(D.score(x_hat).sum(), x_hat, create_graph=True)
        terms.append((grad.flatten().norm() - 1) ** 2)
    manual = torch.stack(terms).mean()
    manual.backward()
    assert torch.allclose(penalty, manual, rtol=1e-4)
    for a, p in zip(library_grads, D.parameters()):  # the penalty trains the critic the same way
        assert (a is None) == (p.grad is None)
        assert a is None or torch.allclose(a, p.grad, rtol=1e-3, atol=1e-6)


def test_class_noise_puts_one_hot_first():
    labels = torch.tensor([0, 3, 9])
    z = class_noise(labels, 128, 10, generator=torch.Generator().manual_seed(0))
    assert z.shape == (3, 128)
    assert torch.equal(z[:, :10], torch.eye(10)[labels])
    assert z[:, 10:].std() > 0.5
    again = class_noise(labels, 128, 10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, again)
    with pytest.raises(ValueError, match="0..9"):
        class_noise(torch.tensor([10]))
    with pytest.raises(ValueError, match="must exceed"):
        class_noise(labels, z_dim=10)


def test_fixed_grid_noise_has_one_class_per_column():
    z, labels = fixed_grid_noise(rows=10, seed=1)
    assert z.shape == (100, 128)
    grid = labels.view(10, 10)
    assert all(bool((grid[:, j] == j).all()) for j in range(10))
    assert torch.equal(z[:, :10].argmax(1), labels)
    assert torch.equal(z, fixed_grid_noise(rows=10, seed=1)[0])


def test_frozen_restores_requires_grad():
    layer = nn.Linear(2, 2)
    layer.bias.requires_grad_(False)
    with frozen(layer):
        assert not any(p.requires_grad for p in layer.parameters())
    assert layer.weight.requires_grad and not layer.bias.requires_grad


def _tiny_acgan(seed=0, ema_decay=None):
    torch.manual_seed(seed)
    G, D = ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4)
    return make_acgan(G, D, seed=seed, ema_decay=ema_decay)


def _tiny_data():
    g = torch.Generator().manual_seed(1)
    return torch.rand(16, 3, 32, 32, generator=g) * 2 - 1, torch.arange(16) % 10


def test_acgan_step_returns_the_five_losses_and_accuracies_and_trains_both():
    gan = _tiny_acgan()
    assert gan.opt_d.param_groups[0]["betas"] == ACGAN_BETAS == (0.0, 0.9)
    assert gan.opt_g.param_groups[0]["lr"] == 1e-4
    two_rates = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4), lr=3e-4, lr_d=6e-4)
    assert (two_rates.opt_g.param_groups[0]["lr"], two_rates.opt_d.param_groups[0]["lr"]) == (3e-4, 6e-4)
    before_g = [p.clone() for p in gan.G.parameters()]
    before_d = [p.clone() for p in gan.D.parameters()]
    x, y = _tiny_data()
    out = acgan_step(gan, x[:8], y[:8])
    assert set(out) == {"loss_d_wasserstein", "loss_gp", "loss_d_class", "loss_g_adv",
                        "loss_g_class", "acc_real", "acc_fake"}
    assert all(v.dim() == 0 and not v.requires_grad and torch.isfinite(v) for v in out.values())
    assert 0 <= out["acc_real"] <= 1 and out["loss_gp"] >= 0
    assert any(not torch.equal(a, b) for a, b in zip(before_g, gan.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, gan.D.parameters()))
    assert all(p.requires_grad for p in gan.D.parameters())


def test_fit_with_acgan_step_logs_grids_and_resumes_exactly(tmp_path):
    x, y = _tiny_data()
    step = functools.partial(acgan_step, flip=True)
    z_grid, _ = fixed_grid_noise(rows=2, z_dim=16)
    grids = []

    def on_log(gan):
        gan.sampler.eval()
        with torch.no_grad():
            grids.append(gan.sampler(z_grid))
        gan.sampler.train()

    whole = _tiny_acgan(ema_decay=0.9)
    fit(whole, TensorBatches(x, y, batch_size=4, seed=0), 4, step_fn=step, log_every=2,
        on_log=on_log, progress=False)
    assert len(grids) == 2 and grids[0].shape == (20, 3, 32, 32)
    assert whole.history["step"] == [2, 4] and len(whole.history["loss_gp"]) == 2

    ckpt = tmp_path / "acgan.pt"
    first = _tiny_acgan(ema_decay=0.9)
    fit(first, TensorBatches(x, y, batch_size=4, seed=0), 2, step_fn=step, log_every=2,
        checkpoint_path=ckpt, progress=False)
    resumed = _tiny_acgan(seed=0, ema_decay=0.9)
    fit(resumed, TensorBatches(x, y, batch_size=4, seed=0), 4, step_fn=step, log_every=2,
        checkpoint_path=ckpt, progress=False)
    assert resumed.step == 4
    for name in ("G", "D", "ema"):
        a = getattr(whole, name).state_dict()
        b = getattr(resumed, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    for key in whole.history:
        if key != "seconds":
            assert whole.history[key] == resumed.history[key], key


def test_evaluate_accuracy_against_hand_count():
    class Fixed(nn.Module):
        def forward(self, x):
            return torch.zeros(x.shape[0], 1), x.flatten(1)[:, :3]

    x = torch.zeros(5, 3, 1, 1)
    x[[0, 1, 2, 3, 4], [0, 1, 2, 0, 1]] = 1.0  # predictions 0,1,2,0,1
    y = torch.tensor([0, 1, 0, 0, 2])
    assert evaluate_accuracy(Fixed(), x, y, batch_size=2) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="same"):
        evaluate_accuracy(Fixed(), x, y[:3])


def test_train_classifier_learns_a_tiny_set():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    x, y = torch.randn(40, 3, 32, 32), torch.arange(40) % 10
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = train_classifier(model, opt, (x, y), (x, y), epochs=15, batch_size=10,
                               augment=False, generator=torch.Generator().manual_seed(0))
    assert history["epoch"] == list(range(1, 16))
    assert history["train_loss"][-1] < history["train_loss"][0] / 4
    assert history["test_acc"][-1] == 1.0
    more = train_classifier(model, opt, (x, y), (x, y), epochs=1, batch_size=10, history=history,
                            generator=torch.Generator().manual_seed(1))
    assert more["epoch"][-1] == 16 and more["seconds"][-1] >= more["seconds"][-2]


def _load_script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "maintainer" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def tiny_cifar(tmp_path, monkeypatch):
    from test_cifar10 import _write_tree

    _write_tree(tmp_path / "data", "train", 2)
    _write_tree(tmp_path / "data", "test", 1)
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_classifier_script_trains_resumes_and_exports(tiny_cifar):
    script = _load_script("train_cifar10_classifier")
    out = tiny_cifar / "clf"
    common = ["--model", "critic", "--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"),
              "--width", "4", "--batch-size", "5", "--fp16", "--epochs", "2"]
    first = script.main(common + ["--max-minutes", "1e-9"])  # out of time at once: saves and stops
    assert first == {}
    assert load_checkpoint(out / "checkpoint.pt")["run"]["epoch"] < 2
    second = script.main(common + ["--resume"])
    assert second["epochs"] == 2
    weights = torch.load(out / "cifar10_critic.pt", weights_only=True)
    assert weights["fc10.weight"].dtype == torch.float16
    model = ACGANCritic(width=4)
    model.load_state_dict(weights)  # loads (and casts) into a float32 critic


def test_acgan_script_trains_resumes_and_exports(tiny_cifar):
    script = _load_script("train_acgan_cifar10")
    out = tiny_cifar / "gan"
    common = ["--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"),
              "--g-width", "4", "--d-width", "8,8,6,4", "--batch-size", "10", "--ema", "0.9", "--gp-every", "2",
              "--log-every", "1", "--checkpoint-every", "1", "--eval-samples", "10", "--filmstrip-hours", "0,1",
              "--d-fake-class-weight", "0"]
    (out).mkdir()
    (out / "STOP").touch()  # ends the session at its first log, after a checkpoint
    assert script.main(common + ["--steps", "3"]) == {"finished": False, "step": 1}
    (out / "STOP").unlink()
    with pytest.raises(SystemExit, match="--resume"):
        script.main(common + ["--steps", "3"])
    with pytest.raises(SystemExit, match="other settings"):
        script.main(common + ["--steps", "3", "--resume", "--n-critic", "2"])
    with pytest.raises(SystemExit, match="d_fake_class_weight"):  # the course's class loss would be another run
        script.main(common + ["--steps", "3", "--resume", "--d-fake-class-weight", "1"])
    metrics = script.main(common + ["--steps", "3", "--resume"])
    assert metrics["finished"] and metrics["steps"] == 3
    assert [p["step"] for p in metrics["curve"]] == [1, 3]  # first log, then the end
    assert 0 <= metrics["curve"][-1]["class_accuracy"] <= 1 and metrics["curve"][-1]["cpu_s"] > 0
    assert (out / "filmstrip" / "grid_0h.png").exists() and not (out / "filmstrip" / "grid_1h.png").exists()
    G = ACGANGenerator(width=4)
    G.load_state_dict(torch.load(out / "acgan_cifar10.pt", weights_only=True))


def test_acgan_script_budget_in_cpu_hours_counts_every_session(tiny_cifar):
    script = _load_script("train_acgan_cifar10")
    out = tiny_cifar / "gan"
    common = ["--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"), "--g-width", "4",
              "--d-width", "4", "--batch-size", "10", "--log-every", "1", "--checkpoint-every", "1",
              "--eval-samples", "10", "--filmstrip-hours", "0,1000", "--threads", "1"]
    out.mkdir()
    (out / "STOP").touch()
    assert script.main(common + ["--cpu-hours", "1000"]) == {"finished": False, "step": 1}
    first_session = json.loads((out / "clock.json").read_text())["cpu_s"]
    assert first_session > 0
    (out / "STOP").unlink()
    # A budget already spent ends the resumed run at its first log; the clock goes on from the first session.
    metrics = script.main(common + ["--cpu-hours", str(first_session / 3600), "--resume"])
    assert metrics["finished"] and metrics["steps"] == 2
    assert metrics["cpu_seconds"] > first_session
    assert metrics["curve"][-1]["cpu_s"] > first_session
    assert (out / "filmstrip" / "grid_0h.png").exists() and not (out / "filmstrip" / "grid_1000h.png").exists()


def test_acgan_script_ends_when_its_training_hours_are_spent(tiny_cifar):
    script = _load_script("train_acgan_cifar10")
    metrics = script.main(["--device", "cpu", "--out", str(tiny_cifar / "gan"), "--data-root", str(tiny_cifar / "data"),
                           "--g-width", "4", "--d-width", "4", "--batch-size", "10", "--log-every", "2",
                           "--eval-samples", "10", "--hours", "1e-9"])
    assert metrics["finished"] and metrics["steps"] == 2  # the first log past the budget
    assert metrics["clock"] == "hours of training"


def test_acgan_script_decays_the_learning_rate_over_the_end_of_its_budget(tiny_cifar):
    from maintainer.schedule import decayed_lr

    script = _load_script("train_acgan_cifar10")
    assert [decayed_lr(1.0, f, 0.5) for f in (0.0, 0.5, 0.75, 1.0, 1.2)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    assert decayed_lr(1.0, 0.9, None) == 1.0
    metrics = script.main(["--device", "cpu", "--out", str(tiny_cifar / "gan"), "--data-root", str(tiny_cifar / "data"),
                           "--g-width", "4", "--d-width", "4", "--batch-size", "10", "--steps", "4", "--log-every", "1",
                           "--eval-minutes", "0", "--eval-samples", "10", "--lr", "1e-3", "--lr-decay-from", "0.5"])
    # Each evaluation records the rate set at its log: constant up to half the steps, then linear to 0.
    # (Which logs evaluate depends on timing; the first and the last always do.)
    curve = metrics["curve"]
    assert curve[0]["step"] == 1 and curve[-1]["step"] == 4
    assert [p["lr"] for p in curve] == pytest.approx([decayed_lr(1e-3, p["step"] / 4, 0.5) for p in curve])
    assert curve[0]["lr"] == 1e-3 and curve[-1]["lr"] == 0.0
    with pytest.raises(SystemExit):
        script.parse_args(["--lr-decay-from", "1"])


def test_acgan_script_resumes_a_run_whose_rate_has_decayed(tiny_cifar):
    # The checkpoint must record the run's --lr, not the decayed rate of the moment: otherwise the
    # resume check sees "other settings" and refuses to continue a run once its decay has begun.
    script = _load_script("train_acgan_cifar10")
    out = tiny_cifar / "gan"
    common = ["--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"), "--g-width", "4",
              "--d-width", "4", "--batch-size", "10", "--steps", "4", "--log-every", "1", "--checkpoint-every", "1",
              "--eval-samples", "10", "--lr", "1e-3", "--lr-decay-from", "0", "--threads", "1"]
    out.mkdir()
    (out / "STOP").touch()
    assert script.main(common) == {"finished": False, "step": 1}
    saved = load_checkpoint(out / "checkpoint.pt")
    assert saved["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.75e-3)  # decayed at the first log
    assert saved["levers"]["lr"] == 1e-3
    (out / "STOP").unlink()
    metrics = script.main(common + ["--resume"])
    assert metrics["finished"] and metrics["steps"] == 4
    with pytest.raises(SystemExit, match="lr"):  # another --lr is still refused
        script.main([a if a != "1e-3" else "2e-3" for a in common] + ["--resume"])


def test_acgan_script_starts_the_critic_from_a_classifier(tiny_cifar):
    script = _load_script("train_acgan_cifar10")
    classifier = ACGANCritic(width=4)
    torch.save({"model": classifier.state_dict()}, tiny_cifar / "clf.pt")
    out = tiny_cifar / "gan"
    script.main(["--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"), "--g-width", "4",
                 "--d-width", "4", "--batch-size", "10", "--steps", "1", "--log-every", "1", "--eval-samples", "10",
                 "--init-critic", str(tiny_cifar / "clf.pt"), "--lr", "1e-12"])
    D = load_checkpoint(out / "checkpoint.pt")["discriminator"]
    # After one step at a vanishing learning rate the critic still holds the classifier's weights.
    torch.testing.assert_close(D["fc10.weight"], classifier.state_dict()["fc10.weight"], atol=1e-6, rtol=0)


def test_fit_averages_a_lazy_term_over_the_steps_that_computed_it():
    torch.manual_seed(0)
    G, D = ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4)
    gan = make_acgan(G, D)
    x, y = torch.rand(8, 3, 32, 32) * 2 - 1, torch.arange(8) % 10
    seen = []

    def step(gan, xb, yb):  # records what acgan_step returned, to average by hand
        out = acgan_step(gan, xb, yb, gp_every=2, n_critic=4)
        seen.append({k: float(v) for k, v in out.items()})
        return out

    fit(gan, iter(lambda: (x, y), None), 4, step_fn=step, log_every=4, progress=False)
    assert [("loss_gp" in s, "loss_g_adv" in s) for s in seen] == [(True, False), (False, False),
                                                                   (True, False), (False, True)]
    gp = [s["loss_gp"] for s in seen if "loss_gp" in s]
    assert gan.history["loss_gp"] == [pytest.approx(sum(gp) / 2)]
    assert gan.history["loss_g_adv"] == [pytest.approx(seen[-1]["loss_g_adv"])]

    # Windows shorter than the period: the lists stay aligned with "step", NaN where nothing was computed.
    fit(gan, iter(lambda: (x, y), None), 7, step_fn=step, log_every=1, progress=False)
    h = gan.history
    assert h["step"] == [4, 5, 6, 7] and all(len(h[k]) == 4 for k in h)
    assert [math.isnan(v) for v in h["loss_gp"]] == [False, False, True, False]
    assert [math.isnan(v) for v in h["loss_g_adv"]] == [False, True, True, True]


def test_lazy_penalty_is_weighted_by_its_period():
    """On a penalty step, gp_every=k must give the penalty k times its usual weight."""
    x, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.arange(6) % 10
    grads = {}
    for k in (1, 3):
        torch.manual_seed(0)
        gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4), lr=1e-12)
        gan.opt_d.step = lambda: None  # keep D's gradient for inspection
        acgan_step(gan, x, y, gp_every=k)
        grads[k] = gan.D.fc1.weight.grad.clone()
    torch.manual_seed(0)
    gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4), lr=1e-12)
    gan.opt_d.step = lambda: None
    acgan_step(gan, x, y, lambda_gp=0.0)
    no_gp = gan.D.fc1.weight.grad.clone()
    torch.testing.assert_close(grads[3] - no_gp, 3 * (grads[1] - no_gp), rtol=1e-4, atol=1e-6)


def test_ship_script_scores_a_finished_run_and_refuses_an_unfinished_one(tiny_cifar):
    train, ship = _load_script("train_acgan_cifar10"), _load_script("ship_acgan_cifar10")
    out = tiny_cifar / "gan"
    # With an EMA: evaluations, snapshots and the export use the recalibrated averaged generator.
    common = ["--device", "cpu", "--out", str(out), "--data-root", str(tiny_cifar / "data"), "--g-width", "4",
              "--d-width", "4", "--batch-size", "10", "--log-every", "1", "--eval-samples", "10", "--ema", "0.9"]
    out.mkdir()
    (out / "STOP").touch()
    train.main(common + ["--steps", "2"])
    (out / "metrics.json").write_text('{"finished": false}')
    with pytest.raises(SystemExit, match="not say the run has finished"):
        ship.main(["--run", str(out), "--no-manifest", "--data-root", str(tiny_cifar / "data")])
    (out / "STOP").unlink()
    train.main(common + ["--steps", "2", "--resume"])
    found = ship.main(["--run", str(out), "--no-manifest", "--samples", "20", "--data-root", str(tiny_cifar / "data")])
    assert set(found["per_class_accuracy"]) == set(CIFAR10_CLASSES)
    assert 0 <= found["class_accuracy"] <= 1 and found["real_vs_real_fd"] > 0
    # Every evaluation left a float16 snapshot, and scoring them again reproduces the curve.
    metrics = json.loads((out / "metrics.json").read_text())
    assert {f"step_{p['step']}.pt" for p in metrics["curve"]} <= {f.name for f in (out / "snapshots").iterdir()}
    rescored = ship.rescore_curve(out, metrics["curve"], metrics["g_kwargs"], 10, str(tiny_cifar / "data"))
    assert [p["step"] for p in rescored] == [p["step"] for p in metrics["curve"]]
    for before, after in zip(metrics["curve"], rescored):
        assert after["fd"] == pytest.approx(before["fd"], rel=0.05, abs=1e-3)


def test_ship_script_ships_the_best_snapshot_of_a_stopped_run(tiny_cifar):
    train, ship = _load_script("train_acgan_cifar10"), _load_script("ship_acgan_cifar10")
    out, data = tiny_cifar / "gan", str(tiny_cifar / "data")
    train.main(["--device", "cpu", "--out", str(out), "--data-root", data, "--g-width", "4", "--d-width", "4",
                "--batch-size", "10", "--log-every", "1", "--eval-minutes", "0", "--eval-samples", "10",
                "--steps", "3"])
    (out / "metrics.json").unlink()  # as if the run had been stopped before its budget
    with pytest.raises(SystemExit, match="not say the run has finished"):
        ship.main(["--run", str(out), "--no-manifest", "--data-root", data])
    ship_args = ["--run", str(out), "--data-root", data, "--samples", "20", "--training-command", "python train.py"]
    with pytest.raises(SystemExit, match="--why"):
        ship.stopped_run(out, ship.parse_args(ship_args + ["--snapshot", "best"]))
    args = ship.parse_args(ship_args + ["--snapshot", "best", "--candidates", "2", "--why", "it degraded"])
    state, metrics = ship.stopped_run(out, args)
    selection = metrics["stopped_early"]["selection"]
    curve = json.loads((out / "curve.json").read_text())["points"]
    best_two = sorted(curve, key=lambda p: p["class_accuracy"], reverse=True)[:2]
    assert [c["step"] for c in selection] == [p["step"] for p in best_two]
    shipped = max(selection, key=lambda c: c["class_accuracy"])["step"]
    assert metrics["steps"] == metrics["stopped_early"]["shipped_step"] == shipped
    assert metrics["cpu_seconds"] == next(p["cpu_s"] for p in curve if p["step"] == shipped)
    snapshot = torch.load(out / "snapshots" / f"step_{shipped}.pt", weights_only=True)
    assert all(torch.equal(state[k], snapshot[k]) for k in snapshot)
    assert metrics["g_kwargs"] == {"z_dim": 128, "width": 4} and metrics["stopped_early"]["why"] == "it degraded"
    with pytest.raises(SystemExit, match="not on"):
        ship.stopped_run(out, ship.parse_args(ship_args + ["--snapshot", "99", "--why", "x"]))


def test_ship_script_keeps_the_record_of_the_generators_it_replaces():
    ship = _load_script("ship_acgan_cifar10")
    assert ship.earlier_runs(None) == []
    first = {"file": "a.pt", "sha256": "1", "training_steps": 10, "metrics": {"class_accuracy": 0.59}}
    second = {"file": "a.pt", "sha256": "2", "training_steps": 20, "earlier_runs": ship.earlier_runs(first)}
    history = ship.earlier_runs(second)
    assert [run["training_steps"] for run in history] == [10, 20]  # oldest first
    assert all("sha256" not in run and "earlier_runs" not in run for run in history)
    assert history[0]["metrics"] == {"class_accuracy": 0.59}


def test_ship_script_can_keep_the_generator_it_replaces_under_another_name(tmp_path, monkeypatch):
    from ganlib.pretrained import sha256_of

    ship = _load_script("ship_acgan_cifar10")
    monkeypatch.setattr(ship, "WEIGHTS_DIR", tmp_path)
    (tmp_path / "acgan_cifar10.pt").write_bytes(b"old weights")
    record = {"training_steps": 10}
    old = {"file": "acgan_cifar10.pt", "sha256": sha256_of(tmp_path / "acgan_cifar10.pt"), "training_steps": 20,
           "earlier_runs": [record]}
    manifest = {"models": {"acgan_cifar10": old}}
    with pytest.raises(SystemExit, match="registry name"):
        ship.keep_previous(manifest, "acgan_cifar10_old")
    kept = ship.keep_previous(manifest, "acgan_cifar10_no_mode_seeking")
    assert kept == {"file": "acgan_cifar10_no_mode_seeking.pt", "sha256": old["sha256"], "training_steps": 20}
    assert manifest["models"]["acgan_cifar10_no_mode_seeking"] is kept
    assert (tmp_path / kept["file"]).read_bytes() == b"old weights"
    assert ship.keep_previous({"models": {}}, "acgan_cifar10_no_mode_seeking") is None  # nothing shipped yet
    (tmp_path / "acgan_cifar10.pt").write_bytes(b"changed")  # a file that no longer matches its checksum
    (tmp_path / kept["file"]).unlink()
    with pytest.raises(SystemExit, match="sha256"):
        ship.keep_previous({"models": {"acgan_cifar10": old}}, "acgan_cifar10_no_mode_seeking")
    assert not (tmp_path / kept["file"]).exists()  # nothing copied from a file that does not match


def test_calibrated_sampler_measures_batchnorm_again_on_a_copy():
    from ganlib.acgan_training import calibrated_sampler

    torch.manual_seed(0)
    plain = make_acgan(ACGANGenerator(width=4), ACGANCritic(width=4))
    assert calibrated_sampler(plain) is plain.sampler  # no EMA: nothing to recalibrate
    gan = make_acgan(ACGANGenerator(width=4), ACGANCritic(width=4), ema_decay=0.9)
    before = {k: v.clone() for k, v in gan.sampler.state_dict().items()}
    G = calibrated_sampler(gan)
    assert G is not gan.sampler and not G.training
    assert all(torch.equal(v, gan.sampler.state_dict()[k]) for k, v in before.items())  # training state untouched
    bn = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)][0]
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # measured, not the initial 1s
    assert G(class_noise(torch.arange(3))).shape == (3, 3, 32, 32)


def test_acgan_scorer_repeats_its_noise_and_tells_generators_apart():
    from ganlib.metrics import load_evaluator
    from maintainer.scoring import ACGANScorer

    score = ACGANScorer(load_evaluator("cifar10", "cpu"), torch.rand(30, 3, 32, 32), num_samples=20)
    torch.manual_seed(0)
    G = ACGANGenerator(width=4).eval()
    first = score(G)
    assert set(first) == set(ACGANScorer.METRICS)
    assert score(G) == first  # the same noise at every call: a run's points compare
    torch.manual_seed(1)
    assert score(ACGANGenerator(width=4).eval()) != first


@pytest.mark.parametrize("script", ["ship_cifar10_classifiers", "ship_acgan_cifar10"])
def test_shipped_training_command_drops_the_flags_of_its_sessions(script):
    from maintainer.shipping import reproducing_command

    flags = _load_script(script).SESSION_FLAGS
    base = "python scripts/train.py --fp16"
    assert reproducing_command(base + " --resume --threads 1", flags) == base
    assert reproducing_command(base + " --threads=2 --out runs/x --epochs 32", flags) == \
        base + " --epochs 32"  # what the run learnt stays


def _grads_after_one_step(**options) -> tuple[torch.Tensor, torch.Tensor]:
    """(critic's, generator's) gradients, flattened, of one ``acgan_step`` from a fixed start; nothing updated."""
    torch.manual_seed(0)  # the same images and networks at every call
    x, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.arange(6) % 10
    gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4), lr=1e-12)
    gan.opt_d.step = gan.opt_g.step = lambda: None  # keep the gradients for inspection
    acgan_step(gan, x, y, lambda_gp=0.0, **options)  # no penalty: its large gradient would swamp rounding
    return tuple(torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
                 for net in (gan.D, gan.G))


@pytest.mark.parametrize("option, net", [("d_fake_class_weight", 0), ("g_class_weight", 1)])
def test_class_loss_weights_scale_only_their_own_term(option, net):
    """A weight w moves the gradient linearly from the term's absence (w = 0) to the course's loss (w = 1)."""
    grad = {w: _grads_after_one_step(**{option: w})[net] for w in (0.0, 0.5, 1.0)}
    assert not torch.allclose(grad[0.0], grad[1.0])  # the term has a gradient at all
    torch.testing.assert_close(grad[0.5] - grad[0.0], 0.5 * (grad[1.0] - grad[0.0]), rtol=1e-4,
                               atol=1e-5 * grad[1.0].abs().max().item())  # float32 rounding of the sums
    torch.testing.assert_close(_grads_after_one_step()[net], grad[1.0])  # 1 is the course's loss


def test_mode_seeking_pairs_the_generator_batch_and_adds_its_term(monkeypatch):
    """With the term on, the generator's batch is two halves of the same classes, and its loss is logged."""
    import ganlib.acgan_training as training

    asked = []
    real_class_noise = training.class_noise
    monkeypatch.setattr(training, "class_noise", lambda labels, *a, **k: asked.append(labels) or
                        real_class_noise(labels, *a, **k))
    gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4))
    x, y = _tiny_data()
    out = acgan_step(gan, x[:8], y[:8], mode_seeking=1.0)
    generator_labels = asked[-1]
    assert torch.equal(generator_labels[:4], generator_labels[4:])
    assert out["loss_g_mode_seeking"] > 0
    barely = _grads_after_one_step(mode_seeking=1e-9)[1]  # the same pairs, the term all but off
    on = _grads_after_one_step(mode_seeking=1.0)[1]
    assert not torch.allclose(barely, on)  # the term reaches the generator's gradient


def test_critic_class_loss_is_logged_unweighted():
    """``loss_d_class`` stays the course's term (real + fake) whatever weight trains the critic."""
    x, y = torch.rand(6, 3, 32, 32) * 2 - 1, torch.arange(6) % 10
    logged = []
    for weight in (1.0, 0.0):
        torch.manual_seed(0)
        gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4))
        logged.append(acgan_step(gan, x, y, d_fake_class_weight=weight)["loss_d_class"])
    torch.testing.assert_close(logged[0], logged[1])


@pytest.mark.parametrize("options, message", [
    ({"gp_every": 0}, "gp_every must be an int >= 1"),
    ({"n_critic": 2.5}, "n_critic must be an int >= 1"),
    ({"d_fake_class_weight": -1.0}, "d_fake_class_weight must be a finite number >= 0"),
    ({"g_class_weight": float("nan")}, "g_class_weight must be a finite number >= 0"),
    ({"mode_seeking": -0.5}, "mode_seeking must be a finite number >= 0"),
])
def test_acgan_step_refuses_bad_options(options, message):
    gan = make_acgan(ACGANGenerator(z_dim=16, width=4), ACGANCritic(width=4))
    with pytest.raises(ValueError, match=message):
        acgan_step(gan, torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.long), **options)
