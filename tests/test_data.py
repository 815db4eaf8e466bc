"""Tests for ganlib.data on a tiny MNIST written in IDX format (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import ganlib.data as data
from ganlib.data import (
    TensorBatches,
    load_mnist,
    resolve_data_root,
    scale_images,
    to_unit_range,
)


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    monkeypatch.delenv(data.DATA_ENV_VAR, raising=False)


def test_load_mnist_from_root_argument(tiny_mnist_root):
    x, y = load_mnist(tiny_mnist_root, scale="unit", download=False)
    assert x.shape == (40, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (40,) and y.dtype == torch.int64
    assert torch.equal(y, torch.arange(40) % 10)
    # Image i was written filled with byte value i (and one white pixel).
    assert torch.allclose(x[7, 0, 5, 5], torch.tensor(7 / 255))
    assert x.min() == 0.0 and x.max() == 1.0


def test_load_mnist_test_split_and_tanh_scale(tiny_mnist_root):
    x, y = load_mnist(tiny_mnist_root, train=False, scale="tanh", download=False)
    assert x.shape == (20, 1, 28, 28) and y.shape == (20,)
    assert x.min() == -1.0 and x.max() == 1.0
    assert torch.allclose(x[3, 0, 9, 9], torch.tensor(3 / 255 * 2 - 1))


def test_load_mnist_finds_root_through_env_var(tiny_mnist_root, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tiny_mnist_root))
    x, _ = load_mnist(download=False)
    assert x.shape[0] == 40


def test_empty_folder_without_download_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, download=False)
    message = str(info.value)
    assert "MNIST/raw/" in message and str(tmp_path) in message
    assert data.DATA_ENV_VAR in message and "root=" in message


def test_resolve_data_root_order(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.setattr(data.paths, "_REPO_ROOT", repo)
    # Nothing exists: <repo>/data is where a download would go.
    assert resolve_data_root() == repo / "data"
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    assert resolve_data_root() == shared
    (repo / "data").mkdir()
    assert resolve_data_root() == repo / "data"
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "from_env"))
    assert resolve_data_root() == tmp_path / "from_env"
    assert resolve_data_root(tmp_path / "arg") == tmp_path / "arg"  # the argument wins
    assert resolve_data_root(str(tmp_path / "arg")) == tmp_path / "arg"


def test_scale_round_trip():
    x01 = torch.rand(2, 1, 4, 4)
    for scale in ("unit", "tanh"):
        assert torch.allclose(to_unit_range(scale_images(x01, scale), scale), x01)
    assert torch.allclose(scale_images(torch.tensor([0.0, 0.5, 1.0]), "tanh"), torch.tensor([-1.0, 0.0, 1.0]))


@pytest.mark.parametrize("fn", [scale_images, to_unit_range])
def test_unknown_scale_raises(fn):
    with pytest.raises(ValueError, match="'unit'"):
        fn(torch.zeros(1), "sigmoid")


def _take(batches: TensorBatches, n: int) -> list[torch.Tensor]:
    return [next(batches)[0].clone() for _ in range(n)]


def test_tensor_batches_cover_each_epoch_once_and_reshuffle():
    x = torch.arange(12)
    batches = TensorBatches(x, x * 10, batch_size=4, seed=0)
    assert len(batches) == 3
    epoch1, epoch2 = torch.cat(_take(batches, 3)), torch.cat(_take(batches, 3))
    assert sorted(epoch1.tolist()) == list(range(12))
    assert sorted(epoch2.tolist()) == list(range(12))
    assert not torch.equal(epoch1, epoch2)
    assert batches.epoch == 1
    xb, yb = next(batches)
    assert torch.equal(yb, xb * 10)  # rows stay paired


def test_tensor_batches_drop_incomplete_batches():
    batches = TensorBatches(torch.arange(10), batch_size=4)
    assert len(batches) == 2
    seen = torch.cat(_take(batches, 2))
    assert seen.numel() == 8 and len(set(seen.tolist())) == 8
    next(batches)
    assert batches.epoch == 1  # the third batch starts a new epoch, not a short batch


def test_tensor_batches_same_seed_same_order():
    a = TensorBatches(torch.arange(20), batch_size=5, seed=3)
    b = TensorBatches(torch.arange(20), batch_size=5, seed=3)
    c = TensorBatches(torch.arange(20), batch_size=5, seed=4)
    first_a = _take(a, 6)
    assert all(torch.equal(p, q) for p, q in zip(first_a, _take(b, 6)))
    assert not all(torch.equal(p, q) for p, q in zip(first_a, _take(c, 6)))


@pytest.mark.parametrize("consumed", [0, 1, 3, 4, 7])
def test_tensor_batches_state_dict_resumes_exactly(consumed):
    x = torch.arange(16)
    reference = TensorBatches(x, batch_size=4, seed=1)
    expected = _take(reference, consumed + 6)[consumed:]

    interrupted = TensorBatches(x, batch_size=4, seed=1)
    _take(interrupted, consumed)
    state = interrupted.state_dict()
    resumed = TensorBatches(x, batch_size=4, seed=1)
    resumed.load_state_dict(state)
    assert all(torch.equal(p, q) for p, q in zip(_take(resumed, 6), expected))


def test_tensor_batches_state_dict_survives_torch_save(tmp_path: Path):
    batches = TensorBatches(torch.arange(8), batch_size=2, seed=5)
    _take(batches, 3)
    torch.save(batches.state_dict(), tmp_path / "state.pt")
    expected = _take(batches, 4)
    resumed = TensorBatches(torch.arange(8), batch_size=2, seed=5)
    resumed.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
    assert all(torch.equal(p, q) for p, q in zip(_take(resumed, 4), expected))


@pytest.mark.parametrize(
    "tensors, batch_size, match",
    [
        ((), 2, "at least one"),
        ((torch.zeros(4), torch.zeros(5)), 2, "same first dimension"),
        ((torch.zeros(4),), 5, r"1\.\.4"),
        ((torch.zeros(4),), 0, r"1\.\.4"),
    ],
)
def test_tensor_batches_errors(tensors, batch_size, match):
    with pytest.raises(ValueError, match=match):
        TensorBatches(*tensors, batch_size=batch_size)


def test_tensor_batches_check_their_labels_once():
    labels = torch.tensor([0, 1, 2, 3])
    batches = TensorBatches(torch.zeros(4, 1, 2, 2), labels, batch_size=2)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        batches.check_labels(3)
    batches.check_labels(4)
    labels[0] = 9  # changed behind its back: a second check for the same classes reads nothing
    batches.check_labels(4)
    with pytest.raises(ValueError, match="class labels"):
        batches.check_labels(5)  # other classes: checked afresh



# --- damaged MNIST files: named, said what is wrong, never reported as "not found" ------------


def _damage_and_load(root: Path, name: str, content: bytes, train: bool = True) -> str:
    path = root / "MNIST" / "raw" / name
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        load_mnist(root, train=train, download=False)
    message = str(info.value)
    assert str(path) in message and "not found" not in message
    return message


def test_truncated_mnist_file_is_named(tiny_mnist_root: Path) -> None:
    path = tiny_mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    message = _damage_and_load(tiny_mnist_root, path.name, path.read_bytes()[: path.stat().st_size // 2])
    assert "truncated" in message and "download=True" in message


def test_empty_mnist_file_is_named(tiny_mnist_root: Path) -> None:
    message = _damage_and_load(tiny_mnist_root, "t10k-labels-idx1-ubyte", b"", train=False)
    assert "empty (0 bytes)" in message


def test_mnist_file_with_wrong_magic_is_named(tiny_mnist_root: Path) -> None:
    message = _damage_and_load(tiny_mnist_root, "train-labels-idx1-ubyte", b"\x1f\x8b" + b"\x00" * 60)
    assert "magic number" in message and "0x00000801" in message


def test_mnist_label_out_of_range_is_refused_at_load_time(tiny_mnist_root: Path) -> None:
    path = tiny_mnist_root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[8 + 7] = 200  # header of 8 bytes, then one byte per label
    message = _damage_and_load(tiny_mnist_root, path.name, bytes(blob))
    assert "label 200 at position 7" in message and "0..9" in message


def test_mnist_counts_must_agree(tiny_mnist_root: Path, idx_writer) -> None:
    import numpy as np

    path = tiny_mnist_root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    idx_writer(path, np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="holds 5 labels but"):
        load_mnist(tiny_mnist_root, download=False)
