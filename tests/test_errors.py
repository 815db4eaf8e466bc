"""Wrong input fails early, with a message that names the problem and says what to do.

Each test feeds one typical mistake to a public ganlib function and checks both the
exception type and that the message points at the fix (not just that "something" failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganlib import checkpoints, data, noise, train, utils
from ganlib.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    EmbeddingConditionalDiscriminator,
    EmbeddingConditionalGenerator,
    MLPDiscriminator,
    MLPGenerator,
    OneHotConditionalDiscriminator,
    OneHotConditionalGenerator,
)

Z_DIM = 8


# ---------------------------------------------------------------- tensor shapes and dtypes
GENERATORS = [
    lambda: MLPGenerator(z_dim=Z_DIM, hidden_dim=8),
    lambda: DCGANGenerator(z_dim=Z_DIM, hidden_dim=8),
]
CONDITIONAL_GENERATORS = [
    lambda: OneHotConditionalGenerator(z_dim=Z_DIM, num_classes=10, hidden_dim=8),
    lambda: EmbeddingConditionalGenerator(z_dim=Z_DIM, num_classes=10, hidden_dim=8),
]
DISCRIMINATORS = [
    lambda: MLPDiscriminator(hidden_dim=8),
    lambda: DCGANDiscriminator(hidden_dim=8),
]
CONDITIONAL_DISCRIMINATORS = [
    lambda: OneHotConditionalDiscriminator(num_classes=10, hidden_dim=8),
    lambda: EmbeddingConditionalDiscriminator(num_classes=10, hidden_dim=8),
]


def _call(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> None:
    model.eval()
    with torch.no_grad():
        model(x) if labels is None else model(x, labels)


@pytest.mark.parametrize("make", GENERATORS + CONDITIONAL_GENERATORS)
@pytest.mark.parametrize(
    "z, expected",
    [
        (torch.randn(4, Z_DIM + 1), rf"\(batch, {Z_DIM}\).*sample_z"),
        (torch.randn(4, Z_DIM, 1, 1), rf"\(batch, {Z_DIM}\)"),
        (torch.randn(Z_DIM), rf"\(batch, {Z_DIM}\)"),
        (torch.zeros(4, Z_DIM, dtype=torch.long), "float noise"),
        (torch.randn(4, Z_DIM, dtype=torch.float64), r"torch\.float32 weights but got torch\.float64.*z\.to"),
        (torch.randn(0, Z_DIM), "empty batch"),
        (torch.randn(4, Z_DIM).index_fill_(0, torch.tensor([2]), float("nan")), "NaN or infinite values in 1 of 4"),
        (torch.full((4, Z_DIM), float("inf")), "NaN or infinite values in 4 of 4"),
    ],
)
def test_generators_reject_bad_noise(make, z: torch.Tensor, expected: str) -> None:
    model = make()
    labels = torch.zeros(z.shape[0], dtype=torch.long) if make in CONDITIONAL_GENERATORS else None
    with pytest.raises(ValueError, match=expected):
        _call(model, z, labels)


@pytest.mark.parametrize("make", GENERATORS + CONDITIONAL_GENERATORS)
def test_generators_refuse_nan_noise_in_training_mode_on_the_cpu(make) -> None:
    model = make().train()
    z = torch.randn(4, Z_DIM)
    z[0, 0] = float("nan")
    labels = torch.zeros(4, dtype=torch.long) if make in CONDITIONAL_GENERATORS else None
    with pytest.raises(ValueError, match="NaN"):
        model(z) if labels is None else model(z, labels)


def test_generator_takes_float32_noise_under_autocast() -> None:
    model = DCGANGenerator(z_dim=Z_DIM, hidden_dim=8).eval()
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.no_grad():
        assert model(torch.randn(2, Z_DIM)).shape == (2, 1, 28, 28)


def test_acgan_generator_checks_its_noise() -> None:
    from ganlib.models import ACGANGenerator

    model = ACGANGenerator(width=8).eval()
    with pytest.raises(ValueError, match="float64"):
        model(torch.randn(2, model.z_dim, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        model(torch.full((2, model.z_dim), float("nan")))


@pytest.mark.parametrize("make", DISCRIMINATORS + CONDITIONAL_DISCRIMINATORS)
@pytest.mark.parametrize(
    "x, expected",
    [
        (torch.rand(4, 3, 28, 28), r"\(batch, 1, 28, 28\)"),
        (torch.rand(4, 28, 28), r"\(batch, 1, 28, 28\)"),
        (torch.rand(4, 1, 32, 32), r"\(batch, 1, 28, 28\)"),
        ((torch.rand(4, 1, 28, 28) * 255).to(torch.uint8), "float image"),
        (torch.rand(0, 1, 28, 28), "empty batch"),
    ],
)
def test_discriminators_reject_bad_images(make, x: torch.Tensor, expected: str) -> None:
    model = make()
    labels = torch.zeros(x.shape[0], dtype=torch.long) if make in CONDITIONAL_DISCRIMINATORS else None
    with pytest.raises(ValueError, match=expected):
        _call(model, x, labels)


# ---------------------------------------------------------------- class labels
BAD_LABELS = [
    (torch.tensor([0, 1, 10, 3]), r"0\.\.9.*10"),
    (torch.tensor([0, -1, 2, 3]), r"0\.\.9.*-1"),
    (torch.tensor([0.0, 1.0, 2.0, 3.0]), r"integer.*labels\.long\(\)"),
    (torch.zeros(4, 10, dtype=torch.long), r"1-D.*\(batch,\)"),
    (torch.zeros(3, dtype=torch.long), "one entry per sample"),
    ([0, 1, 2, 3], r"torch\.tensor"),
]


@pytest.mark.parametrize("labels, expected", BAD_LABELS)
@pytest.mark.parametrize("make", CONDITIONAL_GENERATORS)
def test_conditional_generators_reject_bad_labels(make, labels, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        _call(make(), torch.randn(4, Z_DIM), labels)


@pytest.mark.parametrize("labels, expected", BAD_LABELS)
@pytest.mark.parametrize("make", CONDITIONAL_DISCRIMINATORS)
def test_conditional_discriminators_reject_bad_labels(make, labels, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        _call(make(), torch.rand(4, 1, 28, 28), labels)


def test_one_hot_rejects_label_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.4"):
        noise.one_hot(torch.tensor([5]), 5)


# ---------------------------------------------------------------- noise settings
@pytest.mark.parametrize("truncation", [0, 0.0, -1.0, float("nan"), "1.0", None])
def test_truncation_must_be_positive(truncation) -> None:
    with pytest.raises(ValueError, match=r"truncation must be a positive number \(try"):
        noise.truncated_noise(4, Z_DIM, truncation)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_sample_z_rejects_bad_counts(n) -> None:
    with pytest.raises(ValueError, match="positive int"):
        noise.sample_z(n, Z_DIM)


def test_interpolation_needs_same_shapes() -> None:
    with pytest.raises(ValueError, match="same shape"):
        noise.slerp(torch.randn(Z_DIM), torch.randn(Z_DIM + 1), 0.5)


# ---------------------------------------------------------------- data
@pytest.mark.parametrize("name", ["svhn", "mnist-fashion", "", "cifar100"])
def test_unknown_data_set_names_the_choices(name: str) -> None:
    with pytest.raises(ValueError, match=r"Unknown data set .*'mnist', 'cifar10'"):
        data.load_dataset(name)


def test_load_dataset_dispatches_mnist(tmp_path: Path, monkeypatch) -> None:
    seen = {}
    monkeypatch.setattr(data, "load_mnist", lambda root, **kw: seen.update(root=root, **kw) or "mnist")
    assert data.load_dataset("MNIST", tmp_path, train=False) == "mnist"
    assert seen == {"root": tmp_path, "train": False}


def test_load_dataset_dispatches_cifar10(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(data.cifar10, "load_cifar10", lambda root, **kw: ("cifar10", root, kw))
    assert data.load_dataset("cifar10", tmp_path, train=True) == ("cifar10", tmp_path, {"train": True})


def _offline(monkeypatch) -> None:
    """Cut this process off the network: every connection fails as it does without internet."""
    import socket

    def no_network(self, address):
        raise OSError(101, "Network is unreachable (simulated by the test)")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda self, address: 101)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(
        socket.gaierror(-3, "Temporary failure in name resolution (simulated by the test)")))


@pytest.mark.parametrize("download", [True, False])
def test_empty_data_root_offline_says_where_to_put_mnist(tmp_path: Path, monkeypatch, download: bool) -> None:
    _offline(monkeypatch)
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path, download=download)
    message = str(info.value)
    assert str(tmp_path) in message and "MNIST/raw/" in message
    assert "GANLIB_DATA" in message and "root=" in message


def test_empty_data_root_from_environment(tmp_path: Path, monkeypatch) -> None:
    _offline(monkeypatch)
    monkeypatch.setenv("GANLIB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="GANLIB_DATA"):
        data.load_dataset("mnist")


def test_empty_data_root_offline_cifar10(tmp_path: Path, monkeypatch) -> None:
    _offline(monkeypatch)
    with pytest.raises(FileNotFoundError) as info:
        data.load_dataset("cifar10", tmp_path)
    assert str(tmp_path) in str(info.value) and "GANLIB_DATA" in str(info.value)


@pytest.mark.parametrize("scale", ["01", "sigmoid", None])
def test_unknown_scale(scale) -> None:
    with pytest.raises(ValueError, match="'unit'.*'tanh'"):
        data.scale_images(torch.rand(2, 1, 4, 4), scale)


def test_batches_larger_than_the_data() -> None:
    with pytest.raises(ValueError, match=r"batch_size must be an int in 1\.\.10"):
        data.TensorBatches(torch.rand(10, 1, 4, 4), batch_size=11)


# ---------------------------------------------------------------- devices and settings
@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda!"])
def test_unknown_device_names(name: str) -> None:
    with pytest.raises(ValueError, match="'cuda', 'mps', 'cpu'"):
        utils.get_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(monkeypatch) -> None:
    monkeypatch.setenv("GANLIB_DEVICE", "cuda")
    with pytest.raises(ValueError, match="GANLIB_DEVICE"):
        utils.get_device()


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seed(seed) -> None:
    with pytest.raises(ValueError, match="non-negative int"):
        utils.seed_everything(seed)


def _tiny_gan(generator=None, discriminator=None, **kwargs) -> train.GAN:
    generator = generator or MLPGenerator(z_dim=Z_DIM, hidden_dim=8)
    discriminator = discriminator or MLPDiscriminator(hidden_dim=8)
    return train.make_gan(generator, discriminator, z_dim=Z_DIM, **kwargs)


def _batches() -> data.TensorBatches:
    return data.TensorBatches(torch.rand(32, 1, 28, 28), torch.zeros(32, dtype=torch.long), batch_size=8)


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"num_steps": -1}, "num_steps must be a non-negative int"),
        ({"num_steps": 10.0}, "num_steps must be a non-negative int"),
        ({"num_steps": 10, "log_every": 0}, "log_every must be a positive int"),
        ({"num_steps": 10, "log_every": 4, "checkpoint_every": 6}, "multiple of log_every"),
    ],
)
def test_fit_rejects_bad_settings(kwargs: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        train.fit(_tiny_gan(), _batches(), progress=False, **kwargs)


@pytest.mark.parametrize(
    "kwargs, expected",
    [({"lr": 0.0}, "lr must be a positive"), ({"lr_d": -1e-4}, "lr_d must be a positive"),
     ({"ema_decay": 1.0}, r"ema_decay must be None or a number in \(0, 1\)")],
)
def test_make_gan_rejects_bad_settings(kwargs: dict, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        _tiny_gan(**kwargs)


# ---------------------------------------------------------------- checkpoints
def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="train first"):
        checkpoints.load_checkpoint(tmp_path / "nothing.pt")


def _saved_training_checkpoint(tmp_path: Path) -> Path:
    gan = _tiny_gan()
    train.fit(gan, _batches(), num_steps=2, log_every=1, checkpoint_path=tmp_path / "run.pt", progress=False)
    return tmp_path / "run.pt"


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_checkpoint(tmp_path: Path, keep: float) -> None:
    path = _saved_training_checkpoint(tmp_path)
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep)])
    with pytest.raises(ValueError, match="truncated or corrupt.*Move it aside") as info:
        checkpoints.load_checkpoint(path)
    assert "delete" not in str(info.value).lower()


def test_garbage_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("these are not weights\n")
    with pytest.raises(ValueError, match="holds text .*'these are not weights'.*left untouched") as info:
        checkpoints.load_checkpoint(path)
    assert "delete" not in str(info.value).lower() and "corrupt" not in str(info.value)
    assert path.read_text() == "these are not weights\n"


def test_directory_at_checkpoint_path_is_called_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is a directory, not a checkpoint file") as info:
        checkpoints.load_checkpoint(tmp_path)
    assert "train first" not in str(info.value)


def test_fit_refuses_to_resume_from_a_truncated_checkpoint(tmp_path: Path) -> None:
    """A corrupt checkpoint stops the run instead of being silently overwritten."""
    path = _saved_training_checkpoint(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        train.fit(_tiny_gan(), _batches(), num_steps=4, log_every=1, checkpoint_path=path, progress=False)
    assert path.stat().st_size == 100  # left alone for the user to inspect


def test_checkpoint_from_another_model_in_fit(tmp_path: Path) -> None:
    path = _saved_training_checkpoint(tmp_path)
    other = _tiny_gan(DCGANGenerator(z_dim=Z_DIM, hidden_dim=8), DCGANDiscriminator(hidden_dim=8))
    with pytest.raises(ValueError, match="MLPGenerator.*DCGANGenerator.*another checkpoint_path"):
        train.fit(other, _batches(), num_steps=4, log_every=1, checkpoint_path=path, progress=False)


def test_checkpoint_with_other_sizes_in_fit(tmp_path: Path) -> None:
    path = _saved_training_checkpoint(tmp_path)
    wider = _tiny_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=16))
    with pytest.raises(ValueError, match="has shape .* there but .* here.*same sizes"):
        train.fit(wider, _batches(), num_steps=4, log_every=1, checkpoint_path=path, progress=False)


def test_bare_weights_are_not_a_training_checkpoint(tmp_path: Path) -> None:
    path = checkpoints.save_checkpoint(MLPGenerator(z_dim=Z_DIM, hidden_dim=8).state_dict(), tmp_path / "g.pt")
    with pytest.raises(ValueError, match="not a ganlib training checkpoint.*load_model_state"):
        train.fit(_tiny_gan(), _batches(), num_steps=4, checkpoint_path=path, progress=False)


def test_weights_from_another_model(tmp_path: Path) -> None:
    state = DCGANGenerator(z_dim=Z_DIM, hidden_dim=8).state_dict()
    with pytest.raises(ValueError, match="does not fit a MLPGenerator.*build the model it was saved from"):
        checkpoints.load_model_state(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), state, "g.pt")


def test_weights_with_another_z_dim() -> None:
    state = MLPGenerator(z_dim=Z_DIM + 1, hidden_dim=8).state_dict()
    with pytest.raises(ValueError, match="z_dim"):
        checkpoints.load_model_state(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), state)


def test_ema_mismatch(tmp_path: Path) -> None:
    path = _saved_training_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="ema_decay"):
        train.fit(_tiny_gan(ema_decay=0.9), _batches(), num_steps=4, log_every=1, checkpoint_path=path,
                  progress=False)


# ---------------------------------------------------------------- sampling
@pytest.mark.parametrize("batch_size", [0, -5, 2.5, True])
def test_sample_rejects_bad_batch_size(batch_size) -> None:
    from ganlib.sampling import sample

    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        sample(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), torch.randn(4, Z_DIM), batch_size=batch_size)


def test_sample_rejects_empty_noise_and_nan_noise() -> None:
    from ganlib.sampling import sample

    G = MLPGenerator(z_dim=Z_DIM, hidden_dim=8)
    with pytest.raises(ValueError, match="at least one row"):
        sample(G, torch.randn(0, Z_DIM))
    with pytest.raises(ValueError, match="NaN"):
        sample(G, torch.full((3, Z_DIM), float("nan")))
    assert G.training  # the mode is restored after the error


# ---------------------------------------------------------------- shipped weights
@pytest.mark.parametrize("device", ["tpu", "cuda:banana"])
def test_load_pretrained_names_the_valid_devices(device: str) -> None:
    from ganlib.pretrained import load_pretrained

    with pytest.raises(ValueError, match=rf"Unknown device '{device}'.*'cuda', 'mps', 'cpu'"):
        load_pretrained("mlp_gan_mnist", device)


@pytest.mark.parametrize("content, expected", [
    ('{"model": {}}', 'no "models" object'),
    ("{not json", "not valid JSON"),
    ('{"models": {"mlp_gan_mnist": {"file": "x.pt"}}}', "'mlp_gan_mnist' lacks sha256, class, kwargs, scale"),
    ("[1, 2]", 'no "models" object'),
])
def test_malformed_manifest_is_named(tmp_path: Path, content: str, expected: str) -> None:
    from ganlib.pretrained import load_pretrained

    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(ValueError, match=expected) as info:
        load_pretrained("mlp_gan_mnist", "cpu", weights_dir=tmp_path)
    assert str(tmp_path / "manifest.json") in str(info.value) and "git checkout" in str(info.value)
