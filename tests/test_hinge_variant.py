"""Another loss is one new object: a hinge-loss DCGAN run, written here without touching ganlib.

This file is the whole change (docs/architecture.md counts the files it needed: this one).
"""

from __future__ import annotations

import dataclasses
from functools import partial

import pytest
import torch
import torch.nn.functional as F

from ganlib.data import TensorBatches
from ganlib.runs import COURSE_DCGAN
from ganlib.train import d_step, fit, g_step, gan_step


class HingeLoss:
    """The hinge loss of SAGAN / BigGAN: D pushes real logits above 1 and fake ones below -1."""

    def d(self, logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - logits_real).mean() + F.relu(1 + logits_fake).mean()

    def g(self, logits_fake: torch.Tensor) -> torch.Tensor:
        return -logits_fake.mean()

    def __repr__(self) -> str:  # what a checkpoint records of the loss
        return "HingeLoss()"


HINGE_DCGAN = dataclasses.replace(COURSE_DCGAN, step=partial(gan_step, loss=HingeLoss(), r1_gamma=0.1))


def test_the_textbook_steps_take_the_hinge_loss():
    torch.manual_seed(0)
    G, D = HINGE_DCGAN.networks.build(seed=0)
    opt_d, opt_g = torch.optim.Adam(D.parameters()), torch.optim.Adam(G.parameters())
    x_real, z = torch.rand(8, 1, 28, 28) * 2 - 1, torch.randn(8, 64)
    with torch.no_grad():
        expected = HingeLoss().d(D(x_real), D(G(z)))  # before the step changes D
    loss_d = d_step(G, D, opt_d, x_real, z, loss=HingeLoss())
    torch.testing.assert_close(loss_d, expected)
    loss_g = g_step(G, D, opt_g, z, loss=HingeLoss())
    assert loss_g.dim() == 0 and torch.isfinite(loss_g)


def test_a_hinge_run_trains_resumes_and_differs_from_the_bce_run(tmp_path):
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    batches = lambda: TensorBatches(x, torch.zeros(32, dtype=torch.long), batch_size=8, seed=0)  # noqa: E731
    hinge, bce = HINGE_DCGAN.build(seed=0), COURSE_DCGAN.build(seed=0)
    path = tmp_path / "hinge.pt"
    fit(hinge, batches(), 2, log_every=2, checkpoint_path=path, progress=False)
    fit(bce, batches(), 2, log_every=2, progress=False)
    assert hinge.history["loss_d"] != bce.history["loss_d"]
    assert not torch.equal(next(hinge.G.parameters()), next(bce.G.parameters()))
    assert torch.load(path, weights_only=True)["levers"]["loss"] == "HingeLoss()"
    resumed = HINGE_DCGAN.build(seed=0)
    fit(resumed, batches(), 4, log_every=2, checkpoint_path=path, progress=False)
    assert resumed.step == 4
    with pytest.raises(ValueError, match=r"loss: checkpoint 'HingeLoss\(\)'"):  # another loss: refused
        fit(COURSE_DCGAN.build(seed=0), batches(), 4, log_every=2, checkpoint_path=path, progress=False)
