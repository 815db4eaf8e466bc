"""The learner's own runs of notebooks 01-03: one definition shared by notebooks, scripts and tests."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from ganlib.learner_runs import LEARNER_RUNS, build_learner_gan, build_networks, learner_clustering
from ganlib.recipes import PLAIN_MLP

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = {"01": "01_basic_gan", "02": "02_dcgan", "03": "03_conditional_gan"}


def _parameters(notebook: str) -> dict:
    """The literal assignments of a notebook's ``parameters`` cell."""
    cells = json.loads((REPO / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    (cell,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    values = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


@pytest.mark.parametrize("name", sorted(LEARNER_RUNS))
def test_notebook_defaults_are_the_recorded_runs(name):
    run = LEARNER_RUNS[name]
    params = _parameters(NOTEBOOKS[run.notebook])
    assert params["train_minutes"] == run.minutes
    assert params["recipe"] == "improved"
    assert {"plain", "improved"} <= set(run.recipes)


def test_build_learner_gan_uses_the_named_recipe_and_rejects_others():
    gan = build_learner_gan("mlp_gan_mnist", "plain")
    assert gan.opt_g.param_groups[0]["lr"] == PLAIN_MLP.lr and gan.ema is None and gan.r1_gamma == 0
    improved = build_learner_gan("mlp_gan_mnist", "improved")
    assert improved.ema is not None and improved.r1_gamma == LEARNER_RUNS["mlp_gan_mnist"].recipes["improved"].r1_gamma
    with pytest.raises(ValueError, match="plain"):
        build_learner_gan("mlp_gan_mnist", "fast")


def test_build_learner_gan_trains_each_recipe_on_its_own_networks():
    unconditional, plain = build_learner_gan("dcgan_mnist", "unconditional"), build_learner_gan("dcgan_mnist", "plain")
    assert unconditional.D.norm == "layer" and unconditional.D.net[0][0].out_channels == 32
    assert plain.D.norm == "batch" and plain.D.net[0][0].out_channels == 64  # the course's networks
    assert plain.num_classes is None and unconditional.num_classes is None
    assert build_learner_gan("dcgan_mnist", "unconditional", hidden_dim=16).D.net[0][0].out_channels == 16
    with pytest.raises(ValueError, match="DCGAN discriminator only"):
        build_networks("mlp_gan_mnist", d_norm="layer")


def test_the_self_conditioned_dcgan_is_the_conditional_pair_with_one_class_per_cluster():
    k = LEARNER_RUNS["dcgan_mnist"].networks["improved"]["clusters"]
    gan = build_learner_gan("dcgan_mnist", "improved")
    assert gan.num_classes == k and gan.mismatch_weight > 0
    assert gan.D.body.net[0][0].in_channels == 1 + k  # the image plus one map per cluster
    z, groups = torch.randn(3, 64), torch.tensor([0, k - 1, 2])
    assert gan.G(z, groups).shape == (3, 1, 28, 28) and gan.D(gan.G(z, groups), groups).shape == (3, 1)
    for bad in ({"name": "mlp_gan_mnist"}, {"d_norm": "layer"}, {"clusters": 0}):
        with pytest.raises(ValueError, match="clusters"):
            build_networks(**({"name": "dcgan_mnist", "clusters": 5} | bad))


def test_learner_clustering_is_only_made_for_a_self_conditioned_recipe():
    images = torch.rand(40, 1, 28, 28) * 2 - 1
    assert learner_clustering("dcgan_mnist", "plain", images) is None
    clustering = learner_clustering("dcgan_mnist", "improved", images)
    assert clustering.k == LEARNER_RUNS["dcgan_mnist"].networks["improved"]["clusters"]
    assert clustering.assignment.shape == (40,)


def test_build_networks_is_seeded_and_conditional_where_it_should_be():
    G1, D1 = build_networks("cgan_onehot_mnist", seed=3)
    G2, _ = build_networks("cgan_onehot_mnist", seed=3)
    for a, b in zip(G1.parameters(), G2.parameters()):
        torch.testing.assert_close(a, b)
    z, labels = torch.randn(4, 64), torch.arange(4)
    assert G1(z, labels).shape == (4, 1, 28, 28) and D1(G1(z, labels), labels).shape == (4, 1)
    with pytest.raises(ValueError, match="known"):
        build_networks("acgan_cifar10")


def test_record_script_trains_both_recipes_for_the_time_given(tiny_mnist_root):
    spec = importlib.util.spec_from_file_location("record_learner_runs", REPO / "scripts" / "record_learner_runs.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    recorded = script.main(["--models", "mlp_gan_mnist", "--minutes", "0.02", "--final-samples", "20",
                            "--curve-samples", "20", "--log-every", "2", "--no-ship",
                            "--data-root", str(tiny_mnist_root)])
    runs = recorded["mlp_gan_mnist"]
    for name in ("plain", "improved"):
        run = runs[name]
        assert run["training_seconds"] >= 0.02 * 60 and run["steps"] > 0 and run["cpu_seconds"] > 0
        assert run["curve"][-1]["step"] == run["steps"] and {"fd", "precision", "recall"} <= set(run["metrics"])
    assert runs["plain"]["settings"]["lr"] == PLAIN_MLP.lr


def test_record_script_can_record_the_improved_run_again_and_keep_the_plain_one(tiny_mnist_root, tmp_path,
                                                                                 monkeypatch):
    from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR

    spec = importlib.util.spec_from_file_location("record_learner_runs", REPO / "scripts" / "record_learner_runs.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / MANIFEST_NAME).write_text((WEIGHTS_DIR / MANIFEST_NAME).read_text())
    monkeypatch.setattr(script, "WEIGHTS_DIR", tmp_path)
    before = json.loads((tmp_path / MANIFEST_NAME).read_text())["models"]["dcgan_mnist_plain"]
    script.main(["--models", "dcgan_mnist", "--recipes", "improved", "--minutes", "0.01", "--final-samples", "20",
                 "--curve-samples", "20", "--log-every", "2", "--data-root", str(tiny_mnist_root)])
    after = json.loads((tmp_path / MANIFEST_NAME).read_text())["models"]["dcgan_mnist_plain"]
    assert after["recorded_runs"]["plain"] == before["recorded_runs"]["plain"] and after["sha256"] == before["sha256"]
    improved = after["recorded_runs"]["improved"]
    assert improved["networks"] == LEARNER_RUNS["dcgan_mnist"].networks["improved"] and improved["steps"] > 0
    assert not (tmp_path / "dcgan_mnist_plain.pt").exists()  # the plain weights were not written again
