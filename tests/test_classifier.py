"""Tests for ganlib.classifier: accuracy, confusion matrix, and exact resume of a classifier run."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from ganlib.classifier import ClassifierRun, confusion_matrix, evaluate_accuracy


class Fixed(nn.Module):
    """Predicts class ``round(x[:, 0, 0, 0])``: a classifier whose answers we know."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot(x[:, 0, 0, 0].round().long(), 3).float()


def tiny_data(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = torch.randn(n, 3, 8, 8, generator=g) * 0.3 + y.view(-1, 1, 1, 1).float()
    return x, y


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 4))


def new_run(model: nn.Module, x, y) -> ClassifierRun:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=3 * (x.shape[0] // 8))
    return ClassifierRun(model, opt, x, y, batch_size=8, label_smoothing=0.1, scheduler=sched,
                         generator=torch.Generator().manual_seed(3))


def test_accuracy_and_confusion_against_hand_count():
    x = torch.tensor([0.0, 1.0, 2.0, 2.0, 1.0]).view(-1, 1, 1, 1).expand(-1, 3, 8, 8)
    y = torch.tensor([0, 1, 1, 2, 0])
    assert evaluate_accuracy(Fixed(), x, y, batch_size=2) == pytest.approx(3 / 5)
    counts = confusion_matrix(Fixed(), x, y, 3, batch_size=2)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 1], [0, 0, 1]]  # row: true class, column: predicted
    with pytest.raises(ValueError, match="same, non-zero number"):
        evaluate_accuracy(Fixed(), x, y[:3])


def test_grading_runs_under_the_requested_autocast():
    seen = []

    class Recorder(nn.Module):
        def forward(self, x):
            seen.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
            return x.mean((2, 3))

    x, y = torch.rand(4, 3, 2, 2), torch.tensor([0, 1, 2, 0])
    evaluate_accuracy(Recorder(), x, y, batch_size=2)
    confusion_matrix(Recorder(), x, y, 3, batch_size=4, autocast_dtype=torch.bfloat16)
    assert seen == [None, None, torch.bfloat16]


def test_accuracy_restores_training_mode():
    model = tiny_model().train()
    evaluate_accuracy(model, *tiny_data())
    assert model.training


def test_run_learns_a_tiny_set():
    x, y = tiny_data()
    model = tiny_model()
    run = new_run(model, x, y)
    losses = [run.train_epoch()[0] for _ in range(3)]
    assert losses[-1] < losses[0]
    assert run.epoch == 3 and run.order is None


def test_resume_mid_epoch_is_exact(tmp_path):
    """Stopping after a deadline, saving, and resuming in fresh objects gives the same weights."""
    x, y = tiny_data()
    straight = tiny_model()
    run = new_run(straight, x, y)
    for _ in range(3):
        run.train_epoch()

    first = tiny_model()
    run_a = new_run(first, x, y)
    run_a.train_epoch()
    assert run_a.train_epoch(deadline=time.perf_counter() - 1) is None  # stops before any batch
    # Stop in the middle of epoch 2 by training three batches by hand through the deadline check.
    calls = iter([False, False, False, True])
    original = time.perf_counter
    try:
        time.perf_counter = lambda: 1e18 if next(calls) else 0.0
        assert run_a.train_epoch(deadline=1.0) is None
    finally:
        time.perf_counter = original
    assert run_a.step == 3
    torch.save(run_a.state_dict(), tmp_path / "ckpt.pt")

    resumed = tiny_model()
    for p in resumed.parameters():  # different weights: the load must overwrite them
        nn.init.zeros_(p)
    run_b = new_run(resumed, x, y)
    run_b.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=False))
    while run_b.epoch < 3:
        run_b.train_epoch()
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_batch_larger_than_data_is_refused():
    x, y = tiny_data(4)
    with pytest.raises(ValueError, match="larger than the training set"):
        ClassifierRun(tiny_model(), torch.optim.SGD(tiny_model().parameters(), lr=0.1), x, y, batch_size=8)
