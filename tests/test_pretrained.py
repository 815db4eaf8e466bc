"""The shipped weights load, match their checksums, and fail clearly when damaged or missing."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from ganlib.classifier import evaluate_accuracy
from ganlib.data.cifar10 import load_cifar10
from ganlib.data.mnist import load_mnist
from ganlib.metrics import class_accuracy, evaluate_generator, features
from ganlib.pretrained import KNOWN_NAMES, MANIFEST_NAME, WEIGHTS_DIR, load_pretrained, pretrained_info, sha256_of
from ganlib.sampling import sample_balanced

# The MNIST weights must ship; other known names (CIFAR-10) may still be awaiting training.
MNIST_NAMES = ("mlp_gan_mnist", "dcgan_mnist", "cgan_onehot_mnist", "cgan_embedding_mnist", "mnist_evaluator")
GENERATORS = [name for name in MNIST_NAMES if name != "mnist_evaluator"]


def test_mnist_names_are_known():
    assert set(MNIST_NAMES) <= set(KNOWN_NAMES)


@pytest.mark.parametrize("name", MNIST_NAMES)
def test_shipped_file_loads_and_checksums(name):
    info = pretrained_info(name)
    path = WEIGHTS_DIR / info["file"]
    assert sha256_of(path) == info["sha256"]
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    model = load_pretrained(name, device="cpu")
    assert not model.training
    assert all(p.dtype == torch.float32 for p in model.parameters())
    for key in ("class", "kwargs", "scale", "training_command", "training_seconds", "machine", "metrics"):
        assert key in info, key


@pytest.mark.parametrize("name", GENERATORS)
def test_shipped_generators_make_images_in_their_range(name):
    info = pretrained_info(name)
    model = load_pretrained(name, device="cpu")
    z = torch.randn(6, info["kwargs"]["z_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = model(z) if info["num_classes"] is None else model(z, torch.arange(6) % 10)
    assert x.shape == (6, 1, 28, 28) and torch.isfinite(x).all()
    low = 0.0 if info["scale"] == "unit" else -1.0
    assert x.min() >= low and x.max() <= 1.0


def test_shipped_onehot_cgan_draws_the_requested_digits():
    # A quality check that needs no data set: the evaluator must recognise the classes.
    evaluator = load_pretrained("mnist_evaluator", device="cpu")
    generator = load_pretrained("cgan_onehot_mnist", device="cpu")
    images, labels = sample_balanced(generator, 300, 64, num_classes=10, generator=torch.Generator().manual_seed(1))
    assert class_accuracy(evaluator, images, labels, scale="tanh") >= 0.95


def test_shipped_dcgan_beats_the_shipped_mlp_gan():
    # Notebook 02 teaches that convolutions make better digits: the shipped pair must agree,
    # in the manifest (10,000 samples) and measured again here on 2,000.
    fd = {name: pretrained_info(name)["metrics"]["fd"] for name in ("dcgan_mnist", "mlp_gan_mnist")}
    assert fd["dcgan_mnist"] < fd["mlp_gan_mnist"]
    try:
        x_test, _ = load_mnist(train=False, scale="unit", download=False)
    except FileNotFoundError:
        pytest.skip("no MNIST data here to re-measure on")
    evaluator = load_pretrained("mnist_evaluator", device="cpu")
    real = features(evaluator, x_test[:2000])
    again = {name: evaluate_generator(load_pretrained(name, device="cpu"), evaluator, x_test[:2000],
                                      scale=pretrained_info(name)["scale"], num_samples=2000, real_features=real,
                                      generator=torch.Generator().manual_seed(0))["fd"]
             for name in fd}
    assert again["dcgan_mnist"] < again["mlp_gan_mnist"], again


def _copy_weights(tmp_path, name):
    shutil.copyfile(WEIGHTS_DIR / MANIFEST_NAME, tmp_path / MANIFEST_NAME)
    info = pretrained_info(name)
    shutil.copyfile(WEIGHTS_DIR / info["file"], tmp_path / info["file"])
    return tmp_path / info["file"]


def test_corrupted_copy_fails_with_checksum_error(tmp_path):
    path = _copy_weights(tmp_path, "dcgan_mnist")
    assert isinstance(load_pretrained("dcgan_mnist", device="cpu", weights_dir=tmp_path), torch.nn.Module)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        load_pretrained("dcgan_mnist", device="cpu", weights_dir=tmp_path)


def test_truncated_file_with_forged_checksum_fails_clearly(tmp_path):
    path = _copy_weights(tmp_path, "mlp_gan_mnist")
    path.write_bytes(path.read_bytes()[:1000])
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    manifest["models"]["mlp_gan_mnist"]["sha256"] = sha256_of(path)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="could not be read"):
        load_pretrained("mlp_gan_mnist", device="cpu", weights_dir=tmp_path)


def test_missing_file_says_how_to_reproduce(tmp_path):
    path = _copy_weights(tmp_path, "cgan_onehot_mnist")
    path.unlink()
    with pytest.raises(FileNotFoundError, match="train_mnist_checkpoints.py"):
        load_pretrained("cgan_onehot_mnist", device="cpu", weights_dir=tmp_path)


def test_missing_manifest_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest"):
        load_pretrained("dcgan_mnist", device="cpu", weights_dir=tmp_path)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="dcgan_mnist.*mnist_evaluator"):
        load_pretrained("stylegan_ffhq")


def test_registry_knows_the_cifar10_models_and_says_how_to_train_them(tmp_path):
    from ganlib.pretrained import MODEL_CLASSES

    assert "ResidualEvaluator" in MODEL_CLASSES
    manifest = json.loads((WEIGHTS_DIR / MANIFEST_NAME).read_text())
    manifest["models"] = {k: v for k, v in manifest["models"].items() if "cifar10" not in k}  # none shipped
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    commands = {"cifar10_critic_classifier": "train_cifar10_classifier.py --model critic",
                "cifar10_evaluator": "train_cifar10_classifier.py --model evaluator",
                "acgan_cifar10": "train_acgan_cifar10.py"}
    for name, command in commands.items():
        assert name in KNOWN_NAMES
        with pytest.raises(FileNotFoundError, match=command) as info:
            pretrained_info(name, weights_dir=tmp_path)
        assert "GPU" not in str(info.value)


def test_metrics_pick_the_evaluator_of_a_data_set():
    from ganlib.metrics import load_evaluator
    from ganlib.pretrained import output_scale

    assert output_scale("mnist_evaluator") == "unit" and output_scale("dcgan_mnist") == "tanh"
    assert not load_evaluator("MNIST", device="cpu").training
    with pytest.raises(ValueError, match="Unknown data set"):
        load_evaluator("svhn")


# The CIFAR-10 classifiers ship as their CPU training runs finish; each shipped one is checked
# against the target of its issue (the evaluator 0.90, reached with mirror averaging; the critic 0.88).
CIFAR10_CLASSIFIERS = {"cifar10_evaluator": 0.90, "cifar10_critic_classifier": 0.88}
# The targets the shipped CIFAR-10 generator must meet on 10,000 samples (issue #28: at least
# 75 % class accuracy, recall at least 0.30, FD at most 20 in the evaluator's features).
ACGAN_CIFAR10_TARGETS = {"class_accuracy": 0.75, "recall": 0.30, "fd": 20.0}


def _shipped(name: str) -> bool:
    return name in json.loads((WEIGHTS_DIR / MANIFEST_NAME).read_text())["models"]


@pytest.mark.parametrize("name", sorted(CIFAR10_CLASSIFIERS))
def test_shipped_cifar10_classifier_recognises_test_images(name):
    if not _shipped(name):
        pytest.skip(f"{name} is not shipped yet (its CPU training run has not finished)")
    info = pretrained_info(name)
    assert info["metrics"]["test_accuracy"] >= CIFAR10_CLASSIFIERS[name]  # the target of the recorded run
    assert len(info["history"]["test_acc"]) == info["training_epochs"]
    try:
        x, y = load_cifar10(train=False, scale=info["scale"], limit=1000, download=False)  # 100 per class
    except FileNotFoundError:
        pytest.skip("no CIFAR-10 data here to re-measure on")
    accuracy = evaluate_accuracy(load_pretrained(name, device="cpu"), x, y)
    assert accuracy >= CIFAR10_CLASSIFIERS[name] - 0.03  # 1,000 images: allow for the sample


def test_shipped_acgan_draws_cifar10_classes_the_evaluator_recognises():
    from ganlib.acgan_training import LabelledGenerator

    info = pretrained_info("acgan_cifar10")
    assert sha256_of(WEIGHTS_DIR / info["file"]) == info["sha256"]
    generator = LabelledGenerator(load_pretrained("acgan_cifar10", device="cpu")).eval()
    images, labels = sample_balanced(generator, 500, num_classes=10, generator=torch.Generator().manual_seed(1))
    assert images.shape == (500, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
    # ACGAN_CIFAR10_TARGETS on 10,000 samples (chance 10 %); 500 samples vary by about 2 points.
    accuracy = class_accuracy(load_pretrained("cifar10_evaluator", device="cpu"), images, labels, scale="tanh")
    assert accuracy >= ACGAN_CIFAR10_TARGETS["class_accuracy"] - 0.05
    # The critic's class head learnt from real images only; the generator also minimised MSGAN's term.
    assert info["recipe"]["d_fake_class_weight"] == 0.0 and info["recipe"]["mode_seeking"] == 1.0
    # The first run, with the course's loss unchanged (59.4 %), keeps its record beside it.
    assert info["earlier_runs"][-1]["metrics"]["class_accuracy"] < info["metrics"]["class_accuracy"]


def test_shipped_acgan_is_the_end_of_a_stable_run_with_variety():
    info = pretrained_info("acgan_cifar10")
    # The weights of the run's last evaluation ship, not a snapshot picked before a collapse,
    # and that evaluation is within 5 points of the run's best.
    assert "stopped_early" not in info and info["training_steps"] == info["curve"][-1]["step"]
    best = max(point["class_accuracy"] for point in info["curve"])
    assert info["curve"][-1]["class_accuracy"] >= best - 0.05
    metrics = info["metrics"]
    assert metrics["num_samples"] == 10_000
    assert metrics["class_accuracy"] >= ACGAN_CIFAR10_TARGETS["class_accuracy"]
    assert metrics["recall"] >= ACGAN_CIFAR10_TARGETS["recall"]
    assert metrics["fd"] <= ACGAN_CIFAR10_TARGETS["fd"]


def test_the_generator_without_the_mode_seeking_term_ships_beside_it():
    fix, before = pretrained_info("acgan_cifar10"), pretrained_info("acgan_cifar10_no_mode_seeking")
    assert sha256_of(WEIGHTS_DIR / before["file"]) == before["sha256"]
    assert before["recipe"]["mode_seeking"] == 0.0 and before["kwargs"] == fix["kwargs"]
    # Notebook 04 shows the two side by side. On 10,000 samples the term bought five times the recall
    # (0.48 against 0.09) and a lower FD (19.9 against 25.4) for 1.1 points of class accuracy (76.9 %
    # against 78.0 %, the better of the two a snapshot picked by the evaluator before a collapse).
    assert fix["metrics"]["recall"] > 2 * before["metrics"]["recall"]
    assert fix["metrics"]["fd"] < before["metrics"]["fd"]
    assert fix["metrics"]["class_accuracy"] >= before["metrics"]["class_accuracy"] - 0.02
