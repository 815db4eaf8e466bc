"""The speed benchmark runs and writes its schema; ganlib's fast path trains exactly like the plain one."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest
import torch
from torch.optim.swa_utils import AveragedModel

from ganlib.data import TensorBatches
from ganlib.losses import BCELoss
from ganlib.models import MLPDiscriminator, MLPGenerator, OneHotConditionalDiscriminator, OneHotConditionalGenerator
from ganlib.noise import check_label_range, check_labels
from ganlib.train import fit, gan_step, make_ema, make_gan

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
LOOP_KEYS = {"baseline_img_per_s", "ganlib_img_per_s", "speedup", "device", "batch_size", "steps_timed",
             "warmup_steps", "torch_version", "cpu_threads", "parameters", "baseline_data", "ganlib_data"}


def write_idx(path: Path, data: torch.Tensor) -> None:
    """Write ``data`` (uint8) in MNIST's IDX format: magic, dimension sizes, bytes."""
    dims = list(data.shape)
    header = bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    path.write_bytes(header + data.numpy().tobytes())


def make_tiny_data(root: Path, n_mnist: int = 64, per_class: int = 2,
                   cifar_splits: tuple[str, ...] = ("train",)) -> None:
    """A few random MNIST digits in torchvision's raw layout and a tiny CIFAR-10 JPEG tree."""
    from PIL import Image

    from ganlib.data.cifar10 import CIFAR10_CLASSES

    g = torch.Generator().manual_seed(0)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, n in (("train", n_mnist), ("t10k", 16)):
        images = torch.randint(0, 256, (n, 28, 28), generator=g, dtype=torch.uint8)
        write_idx(raw / f"{split}-images-idx3-ubyte", images)
        write_idx(raw / f"{split}-labels-idx1-ubyte", (torch.arange(n) % 10).to(torch.uint8))
    for split, name in ((split, name) for split in cifar_splits for name in CIFAR10_CLASSES):
        folder = root / "cifar10" / split / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = torch.randint(0, 256, (32, 32, 3), generator=g, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(folder / f"{i:04d}.jpg")


@pytest.fixture()
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH_DIR))
    sys.modules.pop("bench", None)
    import bench

    return bench


def test_bench_writes_results_schema(tmp_path, monkeypatch, bench):
    make_tiny_data(tmp_path / "data")
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results.json"
    bench.main(["--device", "cpu", "--steps", "2", "--warmup", "1", "--batch-size", "4", "--threads", "1",
                "--data-root", str(tmp_path / "data"), "--out", str(out), "--cifar-workers", "0"])
    results = json.loads(out.read_text())
    assert set(results["loops"]) == {"mlp", "cgan", "acgan"}
    for name, entry in results["loops"].items():
        assert LOOP_KEYS <= set(entry), (name, LOOP_KEYS - set(entry))
        assert entry["baseline_img_per_s"] > 0 and entry["ganlib_img_per_s"] > 0
        assert entry["steps_timed"] == 2 and entry["batch_size"] == 4 and entry["device"] == "cpu"
    assert "load_average_1_5_15_at_start" in results["machine"]
    table = out.with_suffix(".md").read_text()
    assert table.startswith("| loop |") and "ACGAN + WGAN-GP" in table


def test_bench_keeps_each_loop_it_measured_when_a_later_one_fails(tmp_path, monkeypatch, bench):
    # A GPU call stopped at its time limit must still return the loops measured before.
    make_tiny_data(tmp_path / "data")
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))

    def broken(args, device):
        raise RuntimeError("stopped")

    monkeypatch.setitem(bench.BUILDERS, "cgan", broken)
    out = tmp_path / "results.json"
    with pytest.raises(RuntimeError, match="stopped"):
        bench.main(["--device", "cpu", "--steps", "1", "--warmup", "1", "--batch-size", "4", "--threads", "1",
                    "--only", "mlp,cgan", "--data-root", str(tmp_path / "data"), "--out", str(out)])
    assert set(json.loads(out.read_text())["loops"]) == {"mlp"}
    assert "MLP GAN" in out.with_suffix(".md").read_text()


def test_acgan_loops_can_train_on_the_test_split(tmp_path, monkeypatch, bench):
    make_tiny_data(tmp_path / "data", cifar_splits=("test",))  # no train split: it must not be read
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results.json"
    bench.main(["--device", "cpu", "--steps", "1", "--warmup", "1", "--batch-size", "4", "--threads", "1",
                "--only", "acgan", "--cifar-split", "test", "--cifar-workers", "0",
                "--data-root", str(tmp_path / "data"), "--out", str(out)])
    entry = json.loads(out.read_text())["loops"]["acgan"]
    assert "cifar10/test" in entry["baseline_data"] and "(20 images)" in entry["ganlib_data"]


def test_profile_writes_a_table_for_each_side(tmp_path, monkeypatch, bench):
    make_tiny_data(tmp_path / "data")
    monkeypatch.setenv("GANLIB_CACHE", str(tmp_path / "cache"))
    sys.modules.pop("profile_step", None)
    import profile_step

    out = tmp_path / "profile.txt"
    profile_step.main(["--device", "cpu", "--steps", "1", "--warmup", "1", "--batch-size", "4", "--threads", "1",
                       "--only", "mlp", "--data-root", str(tmp_path / "data"), "--out", str(out)])
    text = out.read_text()
    assert "=== MLP GAN, MNIST: baseline (course loop) ===" in text and "=== MLP GAN, MNIST: ganlib ===" in text
    assert text.count("aten::addmm") >= 2  # the linear layers show up on both sides


def test_bench_rejects_unknown_loop(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "stylegan"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--ttq-tasks", "cgan_acc99"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--ttq-only"])  # without a cap there is nothing to run


def test_time_to_quality_writes_both_tasks_and_plots_them(tmp_path, bench):
    # 130 images: enough for the recipes' batch of 128; a cap of 0.01 s stops each side at its first look.
    make_tiny_data(tmp_path / "data", n_mnist=130)
    out = tmp_path / "results.json"
    bench.main(["--device", "cpu", "--threads", "1", "--ttq-only", "--ttq-cap", "0.01", "--ttq-every", "1",
                "--ttq-samples", "20", "--ttq-bn-batches", "1", "--data-root", str(tmp_path / "data"),
                "--out", str(out)])
    results = json.loads(out.read_text())
    assert results["loops"] == {} and "machine" not in results  # --ttq-only: no speed loops, no machine block
    ttq = results["time_to_quality"]
    assert set(ttq) == {"cgan_acc95", "mlp_fd10"}
    for task, entry in ttq.items():
        assert {"baseline_s", "ganlib_s", "cap_s", "device"} <= set(entry), task
        assert entry["cap_s"] == 0.01 and entry["device"] == "cpu" and "load_average_1_5_15_at_end" in entry["machine"]
        for side in ("baseline", "ganlib"):
            detail = entry[side]
            assert entry[f"{side}_s"] is None and detail["reached"] is False  # random digits never get there
            assert detail["steps"] == 1 and len(detail["curve"]) == 1 and detail["trained_s"] >= 0.01
            seconds, value = detail["curve"][0]
            assert seconds == pytest.approx(detail["trained_s"], abs=1e-3) and value == detail["best"]
        assert entry["ganlib"]["recipe"]["ema_decay"] is not None and entry["baseline"]["recipe"]["ema_decay"] is None
    assert 0.0 <= ttq["cgan_acc95"]["ganlib"]["best"] <= 1.0 and ttq["mlp_fd10"]["ganlib"]["best"] > 0
    assert ttq["cgan_acc95"]["ganlib"]["recipe"]["mismatch_weight"] == 1.0
    assert ttq["mlp_fd10"]["ganlib"]["recipe"]["r1_gamma"] == 1.0
    table = out.with_suffix(".md").read_text()
    assert table.startswith("Time to quality") and "not reached" in table

    from plot_time_to_quality import main as plot_main

    image = plot_main([str(out), "--out", str(tmp_path / "ttq.png")])
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_time_to_quality_does_not_count_evaluation_time(bench):
    import argparse
    import time

    from ganlib.runs import TEXTBOOK_MLP_GAN

    values = iter([0.5, 0.8, 0.97, 0.99])

    def slow_score(G):
        time.sleep(0.05)  # scoring takes far longer than these "training steps"
        return next(values)

    def train(check):
        step = 0
        while True:
            step += 2
            if check(step):
                return

    args = argparse.Namespace(ttq_cap=60.0, ttq_growth=0.0)
    side = bench.Side(TEXTBOOK_MLP_GAN, "fake loop", train, lambda: None)
    result = bench.race(side, slow_score, 0.95, True, args, torch.device("cpu"), "test")
    assert result["reached"] and result["steps_to_target"] == 6 and len(result["curve"]) == 3
    assert result["eval_s"] >= 0.15 and result["seconds"] < 0.05  # three scores, but almost no training time
    assert [v for _, v in result["curve"]] == [0.5, 0.8, 0.97] and result["best"] == 0.97

    capped = bench.race(side, lambda G: 0.1, 0.95, True, argparse.Namespace(ttq_cap=0.0, ttq_growth=0.0),
                        torch.device("cpu"), "test")
    assert not capped["reached"] and capped["seconds"] is None and capped["steps"] == 2


def test_baseline_models_match_ganlib_sizes(bench):
    import baseline_loops as base

    from ganlib.models import ACGANCritic, ACGANGenerator

    pairs = [(MLPGenerator(64), base.Generator(64)), (MLPDiscriminator(), base.Discriminator()),
             (OneHotConditionalGenerator(64, 10), base.CondGenerator(74)),
             (OneHotConditionalDiscriminator(10), base.CondDiscriminator(11)),
             (ACGANGenerator(128), base.GeneratorNet(128)), (ACGANCritic(10), base.CriticNet())]
    for ours, theirs in pairs:
        bench.check_same_size(ours, theirs, type(ours).__name__)


# --- the fast path gives the same numbers as the plain one -------------------------------------------


def _cgan(**settings):
    torch.manual_seed(0)
    return make_gan(OneHotConditionalGenerator(8, 10, hidden_dim=8), OneHotConditionalDiscriminator(10, hidden_dim=8),
                    z_dim=8, num_classes=10, seed=0, **settings)


def test_compiled_networks_train_like_eager_ones(monkeypatch):
    # The benchmark's compile option: networks wrapped by torch.compile share the GAN's weights.
    # aot_eager traces exactly what inductor would compile, without minutes of C++ compilation.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="aot_eager"))
    torch._dynamo.reset()
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import bench
    finally:
        sys.path.remove(str(BENCH_DIR))
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    y = torch.arange(16) % 10
    eager, compiled = _cgan(), bench.compiled(_cgan(), "default")
    for _ in range(3):
        a, b = gan_step(eager, x, y), gan_step(compiled, x, y)
        for name in a:
            torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-5)
    for p, q in zip(eager.G.parameters(), compiled.G.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_ema_is_the_moving_average_of_the_weights():
    torch.manual_seed(0)
    model = MLPGenerator(8, hidden_dim=8)
    ema = make_ema(model, 0.9)
    expected = None
    for _ in range(4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        ema.update_parameters(model)
        current = [p.detach().clone() for p in model.parameters()]
        expected = current if expected is None else [e * 0.9 + c * 0.1 for e, c in zip(expected, current)]
    for got, want in zip(ema.module.parameters(), expected):  # the first update copies
        torch.testing.assert_close(got, want)
    assert isinstance(ema, AveragedModel) and int(ema.n_averaged) == 4


def test_label_checks_read_values_only_on_the_cpu():
    on_device = torch.zeros(3, dtype=torch.long, device="meta")  # any value read would raise
    check_labels(on_device, 10)  # type and shape only: no sync on a GPU
    with pytest.raises(ValueError, match="0..9"):
        check_labels(torch.tensor([3, 10]), 10)  # CPU labels: the range too
    with pytest.raises(ValueError, match="1-D"):
        check_labels(torch.zeros(2, 2, dtype=torch.long, device="meta"), 10)
    with pytest.raises(Exception):
        check_label_range(on_device, 10)  # the once-per-data-set check reads the values


def test_fit_checks_all_labels_once_before_training():
    gan = _cgan()
    x = torch.zeros(32, 1, 28, 28)
    y = torch.arange(32) % 10
    y[-1] = 12  # a bad label the first batches would not show
    with pytest.raises(ValueError, match="0..9"):
        fit(gan, TensorBatches(x, y, batch_size=8), 2, progress=False)
    assert gan.step == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_no_host_sync_inside_cuda_steps():
    # Without an EMA: torch.optim.swa_utils' update reads its step counter on the host (one sync per
    # update on a GPU; benchmarks/README.md, "EMA").
    from ganlib.acgan_training import acgan_step, make_acgan
    from ganlib.models import ACGANCritic, ACGANGenerator

    device = torch.device("cuda")
    gan = make_gan(OneHotConditionalGenerator(8, 10, hidden_dim=8).to(device),
                   OneHotConditionalDiscriminator(10, hidden_dim=8).to(device), z_dim=8, num_classes=10)
    levers = make_gan(OneHotConditionalGenerator(8, 10, hidden_dim=8).to(device),
                      OneHotConditionalDiscriminator(10, hidden_dim=8).to(device), z_dim=8, num_classes=10,
                      train_step=functools.partial(gan_step, loss=BCELoss(0.9), r1_gamma=1.0, mismatch_weight=1.0))
    acgan = make_acgan(ACGANGenerator(128, width=16).to(device), ACGANCritic(10, width=16).to(device))
    x28, x32 = torch.rand(8, 1, 28, 28, device=device), torch.rand(8, 3, 32, 32, device=device)
    y = torch.arange(8, device=device) % 10
    gan_step(gan, x28, y), levers.train_step(levers, x28, y)  # warm-up: lazy init
    acgan_step(acgan, x32, y, flip=True)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(2):
            gan_step(gan, x28, y)
            levers.train_step(levers, x28, y)
            acgan_step(acgan, x32, y, flip=True)
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_gpu_plan_step_stops_at_once_without_its_data_and_says_which(tmp_path):
    # benchmarks/gpu/device.sh in a tree without carried packs (as a call that forgot one):
    # exit status 3 and the missing folder named in log.txt, which comes back from the GPU machine.
    import shutil
    import subprocess

    repo = tmp_path / "repo"
    (repo / "benchmarks" / "gpu").mkdir(parents=True)
    shutil.copy(BENCH_DIR / "gpu" / "device.sh", repo / "benchmarks" / "gpu" / "device.sh")
    out = tmp_path / "out"
    out.mkdir()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OUT": str(out),
           "GPU_PLAN_TMP": str(tmp_path / "machine"), "GPU_PLAN_DEVICE": "cpu", "HOME": str(tmp_path)}
    run = lambda *args: subprocess.run(["bash", str(repo / "benchmarks" / "gpu" / "device.sh"), *args],  # noqa: E731
                                       capture_output=True, text=True, env=env)
    missing = run("course", "04")
    assert missing.returncode == 3
    assert "no cifar10/train in" in (out / "log.txt").read_text()
    assert "torch" in (out / "env.txt").read_text()  # what the machine had, written before anything else
    wrapper = tmp_path / "machine" / "gpu-plan-venv" / "bin" / "python"
    assert wrapper.read_text().startswith("#!/bin/sh\nexec ") and not wrapper.is_symlink()
    assert run("dance").returncode == 2
