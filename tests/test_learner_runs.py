"""The learner's own runs of notebooks 01-04: the notebooks' parameters are their named runs' values."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import pytest

from ganlib.runs import COURSE_ACGAN, RUNS, TEXTBOOK_MLP_GAN

REPO = Path(__file__).resolve().parent.parent
# notebook -> (its default run, the textbook run it compares with)
NOTEBOOK_RUNS = {"01_basic_gan": ("COURSE_MLP_GAN", "TEXTBOOK_MLP_GAN"),
                 "02_dcgan": ("COURSE_DCGAN", None),  # its textbook run is a recorded failure, not timed alike
                 "03_conditional_gan": ("COURSE_CGAN", "TEXTBOOK_CGAN")}


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


@pytest.mark.parametrize("notebook", sorted(NOTEBOOK_RUNS))
def test_notebook_defaults_are_their_named_runs(notebook):
    own, textbook = NOTEBOOK_RUNS[notebook]
    params = _parameters(notebook)
    assert params["run_name"] == own and params["train_minutes"] == RUNS[own].minutes
    assert textbook is None or RUNS[textbook].minutes == RUNS[own].minutes


def test_notebook_04_parameters_are_its_run():
    params = _parameters("04_acgan_wgan_gp_cifar10")
    keywords = COURSE_ACGAN.step.keywords
    assert params["own_gan_minutes"] == COURSE_ACGAN.minutes and params["own_gan_lr"] == COURSE_ACGAN.lr
    assert params["own_gan_ema"] == COURSE_ACGAN.ema_decay and params["own_gan_batch_size"] == COURSE_ACGAN.batch_size
    assert params["own_gan_width"] == COURSE_ACGAN.networks.generator_args["width"]
    assert params["own_gan_gp_every"] == keywords["gp_every"]
    assert params["own_gan_fake_class_weight"] == keywords["d_fake_class_weight"]
    assert params["own_gan_mode_seeking"] == keywords["mode_seeking"]


def _record_script():
    spec = importlib.util.spec_from_file_location("record_learner_runs", REPO / "maintainer" / "record_learner_runs.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_record_script_trains_both_runs_for_the_time_given(tiny_mnist_root):
    recorded = _record_script().main(["--models", "mlp_gan_mnist", "--minutes", "0.02", "--final-samples", "20",
                                      "--curve-samples", "20", "--log-every", "2", "--no-ship",
                                      "--data-root", str(tiny_mnist_root)])
    runs = recorded["mlp_gan_mnist"]
    assert set(runs) == {"TEXTBOOK_MLP_GAN", "COURSE_MLP_GAN"}
    for name, run in runs.items():
        assert run["run"] == name and run["settings"] == repr(RUNS[name])
        assert run["training_seconds"] >= 0.02 * 60 and run["steps"] > 0 and run["cpu_seconds"] > 0
        assert run["curve"][-1]["step"] == run["steps"] and {"fd", "precision", "recall"} <= set(run["metrics"])
    assert f"lr={TEXTBOOK_MLP_GAN.lr}" in runs["TEXTBOOK_MLP_GAN"]["settings"]


def test_record_script_can_record_the_notebook_run_again_and_keep_the_textbook_one(tiny_mnist_root, tmp_path,
                                                                                    monkeypatch):
    from ganlib.pretrained import MANIFEST_NAME, WEIGHTS_DIR

    script = _record_script()
    (tmp_path / MANIFEST_NAME).write_text((WEIGHTS_DIR / MANIFEST_NAME).read_text())
    monkeypatch.setattr(script, "WEIGHTS_DIR", tmp_path)
    before = json.loads((tmp_path / MANIFEST_NAME).read_text())["models"]["dcgan_mnist_plain"]
    script.main(["--models", "dcgan_mnist", "--runs", "SELF_CONDITIONED_DCGAN", "--minutes", "0.01",
                 "--final-samples", "20", "--curve-samples", "20", "--log-every", "2",
                 "--data-root", str(tiny_mnist_root)])
    after = json.loads((tmp_path / MANIFEST_NAME).read_text())["models"]["dcgan_mnist_plain"]
    assert after["recorded_runs"]["TEXTBOOK_DCGAN"] == before["recorded_runs"]["TEXTBOOK_DCGAN"]
    assert after["sha256"] == before["sha256"]
    own = after["recorded_runs"]["SELF_CONDITIONED_DCGAN"]
    assert own["run"] == "SELF_CONDITIONED_DCGAN" and own["steps"] > 0 and own["clustering_seconds"] >= 0
    assert not (tmp_path / "dcgan_mnist_plain.pt").exists()  # the textbook weights were not written again
    with pytest.raises(SystemExit):
        script.main(["--models", "dcgan_mnist", "--runs", "COURSE_MLP_GAN", "--no-ship"])
