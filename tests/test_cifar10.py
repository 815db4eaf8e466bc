"""Tests for ganlib.data.cifar10 on tiny CIFAR-like data sets written into tmp_path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

import ganlib.data.cifar10 as cifar10
from ganlib.data.cifar10 import CIFAR10_CLASSES, load_cifar10, load_cifar10_uint8, resolve_cache_dir


def _write_tree(root, split, per_class, seed=0):
    """A CIFAR-10-like image-folder tree with ``per_class`` random 32x32 JPEGs per class."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CIFAR10_CLASSES):
        folder = root / "cifar10" / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i:04d}.jpg", quality=90)


def _reference_decode(root, split):
    """PIL decode of the tree in ImageFolder order: the reference the loader must match."""
    images, labels = [], []
    for c, name in enumerate(CIFAR10_CLASSES):
        for path in sorted((root / "cifar10" / split / name).glob("*.jpg")):
            images.append(torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1))
            labels.append(c)
    return torch.stack(images), torch.tensor(labels)


@pytest.fixture()
def tree(tmp_path):
    _write_tree(tmp_path, "train", 3)
    _write_tree(tmp_path, "test", 2, seed=1)
    return tmp_path


def test_image_folder_matches_pil_decode_and_class_order(tree, tmp_path):
    cache = tmp_path / "cache"
    x, y = load_cifar10(tree, train=True, scale="unit", cache_dir=cache)
    ref_x, ref_y = _reference_decode(tree, "train")
    assert x.shape == (30, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(y, ref_y)
    assert torch.equal((x * 255).round().to(torch.uint8), ref_x)
    x_test, y_test = load_cifar10(tree, train=False, scale="tanh", cache_dir=cache)
    assert x_test.shape == (20, 3, 32, 32) and -1.0 <= x_test.min() and x_test.max() <= 1.0
    assert y_test.bincount().tolist() == [2] * 10


def test_decoded_images_are_cached_and_reused(tree, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_cifar10_uint8(tree, cache_dir=cache)
    files = list(cache.glob("cifar10-train-*.pt"))
    assert len(files) == 1

    def no_decoding(paths):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(cifar10, "_decode_jpegs", no_decoding)
    second = load_cifar10_uint8(tree, cache_dir=cache)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    # A limited load reads its subset from the full cache too.
    x, y = load_cifar10_uint8(tree, cache_dir=cache, limit=10)
    assert y.tolist() == list(range(10))


def test_changed_tree_is_decoded_again_not_read_from_a_stale_cache(tree, tmp_path):
    cache = tmp_path / "cache"
    x1, _ = load_cifar10_uint8(tree, cache_dir=cache)
    image = tree / "cifar10" / "train" / "cat" / "0000.jpg"
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(image, quality=90)
    x2, y2 = load_cifar10_uint8(tree, cache_dir=cache)
    cat_first = int((y2 == 3).nonzero()[0])
    assert x2[cat_first].max() <= 3 and x1[cat_first].max() > 3  # the new black image
    assert len(list(cache.glob("cifar10-train-*.pt"))) == 2


def test_corrupt_cache_is_rebuilt(tree, tmp_path):
    cache = tmp_path / "cache"
    x1, _ = load_cifar10_uint8(tree, cache_dir=cache)
    (cache_file,) = cache.glob("cifar10-train-*.pt")
    cache_file.write_bytes(b"not a tensor file")
    x2, _ = load_cifar10_uint8(tree, cache_dir=cache)
    assert torch.equal(x1, x2)


def test_limit_is_class_balanced_and_matches_the_full_load(tree, tmp_path):
    full_x, full_y = load_cifar10_uint8(tree, cache_dir=tmp_path / "a")
    x, y = load_cifar10_uint8(tree, cache_dir=tmp_path / "b", limit=13)  # decoded directly
    assert y.bincount(minlength=10).tolist() == [2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    index = torch.cat([torch.nonzero(full_y == c).flatten()[: (2 if c < 3 else 1)] for c in range(10)])
    assert torch.equal(x, full_x[index]) and torch.equal(y, full_y[index])
    with pytest.raises(ValueError, match="limit"):
        load_cifar10_uint8(tree, limit=0)


def test_cache_dir_from_environment(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "envcache"))
    assert resolve_cache_dir() == tmp_path / "envcache"
    assert resolve_cache_dir(tmp_path / "arg") == tmp_path / "arg"
    load_cifar10_uint8(tree, train=False)
    assert list((tmp_path / "envcache").glob("cifar10-test-*.pt"))


def test_data_root_from_environment(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA", str(tree))
    x, y = load_cifar10(train=False, cache_dir=tmp_path / "c")
    assert x.shape[0] == 20


def _write_pickled(root, n_per_batch):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, n_per_batch)]
        with open(folder / name, "wb") as handle:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, handle)
        written[name] = (data, labels)
    return written


def test_pickled_batches_are_read_in_cifar_layout(tmp_path):
    written = _write_pickled(tmp_path, 4)
    x, y = load_cifar10_uint8(tmp_path, train=True, download=False)
    assert x.shape == (20, 3, 32, 32) and y.shape == (20,)
    data, labels = written["data_batch_2"]
    # Row layout: 1024 red values (row-major), then 1024 green, then 1024 blue.
    assert x[4, 0, 0, 1] == data[0, 1] and x[4, 1, 0, 0] == data[0, 1024] and x[4, 2, 31, 31] == data[0, 3071]
    assert y[4:8].tolist() == labels
    x_test, y_test = load_cifar10(tmp_path, train=False, scale="unit", download=False)
    assert torch.allclose(x_test * 255, torch.from_numpy(written["test_batch"][0]).float().view(4, 3, 32, 32))


def test_missing_data_says_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="GANLIB_DATA"):
        load_cifar10(tmp_path, download=False)

    class Offline:
        def __init__(self, *args, **kwargs):
            raise OSError("no internet")

    import torchvision.datasets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(FileNotFoundError, match="download failed: no internet"):
        load_cifar10(tmp_path, download=True)


def test_wrong_class_folders_raise(tmp_path):
    folder = tmp_path / "cifar10" / "train" / "cats"
    folder.mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), dtype=np.uint8)).save(folder / "0.jpg")
    with pytest.raises(ValueError, match="one folder per CIFAR-10 class"):
        load_cifar10(tmp_path, cache_dir=tmp_path / "c")


# --- nothing runs from a data folder; damaged files are named ---------------------------


class _Payload:
    """Pickles as a call to ``os.system`` that would write a marker file if it ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


class _WriterPayload:
    """Pickles as a call to ``pathlib.Path.write_text`` (no shell needed to notice it ran)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.write_text, (Path(self.marker), "ran")


@pytest.mark.parametrize("payload", [_Payload, _WriterPayload])
@pytest.mark.parametrize("where", ["data", "top"])
def test_crafted_batch_does_not_run_its_payload(tmp_path, payload, where):
    _write_pickled(tmp_path, 2)
    marker = tmp_path / "payload_ran"
    batch = {"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}
    crafted = payload(marker) if where == "top" else batch | {"data": payload(marker)}
    target = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    target.write_bytes(pickle.dumps(crafted))
    # The same file does run its payload under a plain pickle.load: the test can tell.
    control = tmp_path / "control"
    control.write_bytes(pickle.dumps(payload(tmp_path / "control_ran")))
    pickle.loads(control.read_bytes())
    assert (tmp_path / "control_ran").exists()
    with pytest.raises(ValueError) as info:
        load_cifar10_uint8(tmp_path, train=True, download=False)
    assert not marker.exists()
    message = str(info.value)
    assert str(target) in message and "refused" in message and "nothing from the file ran" in message


def test_real_cifar_pickles_from_numpy_1_still_load(tmp_path):
    # Batches written by old numpy name numpy.core.multiarray._reconstruct; that must stay accepted.
    written = _write_pickled(tmp_path, 3)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    blob = pickle.dumps({"data": written["test_batch"][0], "labels": written["test_batch"][1]}, protocol=2)
    path.write_bytes(blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert b"numpy.core.multiarray" in path.read_bytes()
    x, y = load_cifar10_uint8(tmp_path, train=False, download=False)
    assert torch.equal(x.flatten(1), torch.from_numpy(written["test_batch"][0])) and y.tolist() == written[
        "test_batch"][1]


@pytest.mark.parametrize("damage, expected", [
    (lambda blob: blob[: len(blob) // 2], "truncated or corrupt"),
    (lambda blob: b"", "truncated or corrupt"),
    (lambda blob: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}), "outside|0..9"),
    (lambda blob: pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}), r"\(n, 3072\)"),
    (lambda blob: pickle.dumps([1, 2, 3]), "holds no CIFAR-10 batch"),
])
def test_damaged_pickled_batch_names_the_file(tmp_path, damage, expected):
    _write_pickled(tmp_path, 2)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=expected) as info:
        load_cifar10_uint8(tmp_path, train=False, download=False)
    assert str(path) in str(info.value) and "not found" not in str(info.value)


def test_truncated_jpeg_is_named(tree, tmp_path):
    path = tree / "cifar10" / "test" / "cat" / "0001.jpg"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated") as info:
        load_cifar10(tree, train=False, cache_dir=tmp_path / "c")
    assert str(path) in str(info.value)


def test_image_of_the_wrong_size_is_named(tree, tmp_path):
    path = tree / "cifar10" / "test" / "dog" / "0000.jpg"
    Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(path)
    with pytest.raises(ValueError, match="64x64") as info:
        load_cifar10(tree, train=False, cache_dir=tmp_path / "c")
    assert str(path) in str(info.value) and "32x32" in str(info.value)


class _Py2Array:
    """Reduces like numpy does, but with ``str`` where Python 2 wrote byte strings (what latin-1 gives)."""

    def __init__(self, array):
        self.array = array

    def __reduce__(self):
        from numpy._core import multiarray

        a = self.array
        state = (1, a.shape, np.dtype(a.dtype), False, a.tobytes().decode("latin1"))
        return multiarray._reconstruct, (np.ndarray, (0,), "b"), state


def test_python2_style_batches_load(tmp_path):
    # torchvision's download was pickled by Python 2 under numpy.core: strings, not bytes, reach numpy.
    written = _write_pickled(tmp_path, 3)
    data, labels = written["test_batch"]
    blob = pickle.dumps({"data": _Py2Array(data), "labels": labels, "batch_label": "testing batch 1 of 1"},
                        protocol=2).replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in blob and b"_codecs" not in blob
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(blob)
    x, y = load_cifar10_uint8(tmp_path, train=False, download=False)
    assert torch.equal(x.flatten(1), torch.from_numpy(data)) and y.tolist() == labels


class _OtherCodec:
    def __reduce__(self):
        import codecs

        return codecs.encode, ("text", "rot13")


def test_only_the_latin1_codec_is_honoured(tmp_path):
    _write_pickled(tmp_path, 2)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1], "x": _OtherCodec()},
                                  protocol=2))
    assert b"_codecs\nencode" in path.read_bytes()
    with pytest.raises(ValueError, match="rot13.*refused") as info:
        load_cifar10_uint8(tmp_path, train=False, download=False)
    assert str(path) in str(info.value)
