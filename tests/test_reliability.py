"""Training never loses work: kills during saves, kills during training, failing saves, NaNs.

The kill tests run real subprocesses and SIGKILL them (no cleanup handler runs, as when a
laptop loses power or a notebook kernel is killed), then check what is left on disk.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from ganlib import checkpoints, train
from ganlib.data import TensorBatches
from ganlib.models import MLPDiscriminator, MLPGenerator

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

Z_DIM = 8


def _run_python(code: str, *args: str, **popen_kwargs) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen_kwargs)


# ---------------------------------------------------------------- kill during save
SAVE_LOOP = """
    import sys, torch
    from ganlib.checkpoints import load_checkpoint, save_checkpoint
    path = sys.argv[1]
    i = load_checkpoint(path)["i"]
    print("ready", flush=True)
    while True:  # only saves, so a kill almost always lands inside save_checkpoint
        i += 1
        save_checkpoint({"i": i, "payload": torch.full((2_000_000,), float(i))}, path)
"""


def test_kill_during_save_leaves_old_or_new_checkpoint(tmp_path: Path) -> None:
    """SIGKILL a process that saves an 8 MB checkpoint in a loop, at random moments."""
    path = tmp_path / "state.pt"
    checkpoints.save_checkpoint({"i": 0, "payload": torch.full((2_000_000,), 0.0)}, path)
    rng = random.Random(0)
    last_i, kills_mid_save = 0, 0
    for _ in range(6):
        process = _run_python(SAVE_LOOP, str(path))
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(rng.uniform(0.05, 0.6))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        process.stderr.close()
        leftovers = list(tmp_path.glob(".state.pt.*.tmp"))  # what a killed save leaves: a hidden temp file
        kills_mid_save += bool(leftovers)
        assert all(f".state.pt.{process.pid}." in leftover.name for leftover in leftovers)
        state = checkpoints.load_checkpoint(path)
        assert not list(tmp_path.glob(".state.pt.*.tmp")), "loading did not remove a killed save's temp file"
        # The file is a whole checkpoint: the old one or a newer one, never a mixture.
        assert state["i"] >= last_i
        assert torch.equal(state["payload"], torch.full((2_000_000,), float(state["i"])))
        last_i = state["i"]
    assert last_i > 0, "the saving process never completed a save; the test proved nothing"
    assert kills_mid_save > 0, "no kill landed inside a save; the test proved nothing"


class _DiskFull(OSError):
    pass


def _failing_save(fraction: float, error: BaseException):
    """A torch.save that writes part of the data, then fails like a full disk or Ctrl-C."""
    real_save = torch.save

    def save(obj, handle, *args, **kwargs):
        import io

        buffer = io.BytesIO()
        real_save(obj, buffer)
        blob = buffer.getvalue()
        handle.write(blob[: int(len(blob) * fraction)])
        raise error

    return save


@pytest.mark.parametrize("error", [_DiskFull(28, "No space left on device"), KeyboardInterrupt()])
def test_failing_save_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch, error) -> None:
    path = tmp_path / "state.pt"
    checkpoints.save_checkpoint({"i": 1, "w": torch.arange(1000.0)}, path)
    monkeypatch.setattr(checkpoints.torch, "save", _failing_save(0.5, error))
    with pytest.raises(type(error)):
        checkpoints.save_checkpoint({"i": 2, "w": torch.zeros(1000)}, path)
    monkeypatch.undo()
    state = checkpoints.load_checkpoint(path)
    assert state["i"] == 1 and torch.equal(state["w"], torch.arange(1000.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"], "the temp file was left behind"


# ---------------------------------------------------------------- training: tiny deterministic run
def _make_run(seed: int = 0):
    torch.manual_seed(seed)
    gan = train.make_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8),
                         z_dim=Z_DIM, seed=seed, ema_decay=0.9)
    data_rng = torch.Generator().manual_seed(seed)
    x = torch.rand(96, 1, 28, 28, generator=data_rng)
    batches = TensorBatches(x, torch.zeros(96, dtype=torch.long), batch_size=16, seed=seed)
    return gan, batches


def _comparable(state: dict) -> dict:
    """A checkpoint without wall-clock times, which differ between runs."""
    state = dict(state)
    state.pop("seconds")
    state["history"] = {k: v for k, v in state["history"].items() if k != "seconds"}
    return state


def _assert_same(a, b, where: str = "state") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f"{where} differs"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys differ"
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


TRAIN_SCRIPT = f"""
    import sys, time, torch
    torch.set_num_threads(1)
    sys.path.insert(0, {str(Path(__file__).parent)!r})
    from test_reliability import _make_run
    from ganlib.train import fit
    path, num_steps, pause_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    def on_log(gan):
        print("logged", gan.step, flush=True)
        if gan.step == pause_at:  # wait here for the SIGKILL, so it lands at a known step
            time.sleep(600)

    gan, batches = _make_run()
    fit(gan, batches, num_steps, log_every=5, checkpoint_every=10, checkpoint_path=path,
        on_log=on_log, progress=False)
    print("done", flush=True)
"""
NUM_STEPS = 60


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict:
    """The final checkpoint of a run that nobody interrupted."""
    path = tmp_path_factory.mktemp("reference") / "run.pt"
    process = _run_python(TRAIN_SCRIPT, str(path), str(NUM_STEPS), "-1")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0 and "done" in out, err
    return checkpoints.load_checkpoint(path)


@pytest.mark.parametrize("kill_after_log", [15, 35])
def test_training_killed_then_resumed_matches_uninterrupted(tmp_path: Path, uninterrupted: dict,
                                                            kill_after_log: int) -> None:
    """SIGKILL a training run between checkpoints; rerunning the same call finishes the same run.

    Checkpoints fall every 10 steps, so a kill after step 15 or 35 loses 5 steps, which
    the resumed run must redo with the same batches, noise and optimizer state.
    """
    path = tmp_path / "run.pt"
    process = _run_python(TRAIN_SCRIPT, str(path), str(NUM_STEPS), str(kill_after_log))
    for line in process.stdout:
        if line.strip() == f"logged {kill_after_log}":
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=600)
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended before it was killed: {stderr}"
    saved = checkpoints.load_checkpoint(path)
    assert saved["step"] == kill_after_log - 5  # the last checkpoint before the kill

    resumed = _run_python(TRAIN_SCRIPT, str(path), str(NUM_STEPS), "-1")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert out.split()[:2] == ["logged", str(kill_after_log)], "the run did not resume from its checkpoint"
    _assert_same(_comparable(checkpoints.load_checkpoint(path)), _comparable(uninterrupted))


def test_failing_save_during_fit_then_resume_matches(tmp_path: Path, monkeypatch) -> None:
    """A save that dies midway (disk full) stops fit; the previous checkpoint resumes exactly."""
    torch.set_num_threads(1)
    reference, reference_batches = _make_run()
    train.fit(reference, reference_batches, 30, log_every=5, checkpoint_every=10, progress=False)

    path = tmp_path / "run.pt"
    gan, batches = _make_run()
    real_save, real_torch_save = checkpoints.save_checkpoint, torch.save
    calls = []

    def save_failing_the_second_time(state, target):
        calls.append(state["step"])
        if len(calls) == 2:  # the real atomic save runs, but its torch.save dies midway
            torch.save = _failing_save(0.3, _DiskFull(28, "No space left on device"))
        try:
            return real_save(state, target)
        finally:
            torch.save = real_torch_save

    import sys

    # Patch the name where fit looks it up, whichever module of ganlib.train defines fit.
    monkeypatch.setattr(sys.modules[train.fit.__module__], "save_checkpoint", save_failing_the_second_time)
    with pytest.raises(_DiskFull):
        train.fit(gan, batches, 30, log_every=5, checkpoint_every=10, checkpoint_path=path, progress=False)
    monkeypatch.undo()
    assert calls == [10, 20]
    assert checkpoints.load_checkpoint(path)["step"] == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]

    gan, batches = _make_run()  # a fresh process would start like this
    train.fit(gan, batches, 30, log_every=5, checkpoint_every=10, checkpoint_path=path, progress=False)
    _assert_same(_comparable(train.training_state_dict(gan, batches)),
                 _comparable(train.training_state_dict(reference, reference_batches)))


# ---------------------------------------------------------------- divergence
def _poison_at(step: int, how: str):
    """A step function that behaves until ``step``, then breaks the discriminator."""

    def step_fn(gan: train.GAN, x_real: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if gan.step == step:
            with torch.no_grad():
                layer = next(m for m in gan.D.modules() if isinstance(m, torch.nn.Linear))
                if how == "nan":
                    layer.weight.fill_(float("nan"))
                else:  # huge weights: the logits, and so the BCE losses, explode
                    layer.weight.mul_(1e9)
        return train.gan_step(gan, x_real, labels)

    return step_fn


@pytest.mark.parametrize("how", ["nan", "explode"])
def test_divergence_stops_training_and_keeps_last_good_checkpoint(tmp_path: Path, how: str) -> None:
    torch.set_num_threads(1)
    path = tmp_path / "run.pt"
    gan, batches = _make_run()
    good = {}

    def remember(g: train.GAN) -> None:
        if g.step % 10 == 0:  # the steps that are checkpointed
            good[g.step] = {k: v.clone() for k, v in g.G.state_dict().items()}

    with pytest.raises(train.TrainingDiverged, match=r"loss_\w reached .* around step 25.*resume"):
        train.fit(gan, batches, 40, step_fn=_poison_at(22, how), log_every=5, checkpoint_every=10,
                  checkpoint_path=path, on_log=remember, progress=False)
    state = checkpoints.load_checkpoint(path)
    assert state["step"] == 20
    _assert_same(state["generator"], good[20], "generator weights")
    assert all(torch.isfinite(t).all() for t in state["discriminator"].values() if t.is_floating_point())
    assert all(len(v) == 4 for v in state["history"].values())  # steps 5..20, nothing after

    # Resuming from the good checkpoint with a healthy step function trains on.
    gan, batches = _make_run()
    history = train.fit(gan, batches, 30, log_every=5, checkpoint_every=10, checkpoint_path=path,
                        progress=False)
    assert history["step"] == [5, 10, 15, 20, 25, 30]


def test_export_weights_ships_float16_cpu_tensors_that_load_back() -> None:
    from maintainer.shipping import export_weights

    torch.manual_seed(0)
    G = MLPGenerator(z_dim=4, image_shape=(1, 4, 4), hidden_dim=8).eval()
    weights = export_weights(G)
    floats = [t for t in weights.values() if t.is_floating_point()]
    assert floats and all(t.dtype == torch.float16 and t.device.type == "cpu" for t in floats)
    assert all(t.dtype == torch.float32 for t in export_weights(G, half=False).values()
               if t.is_floating_point())
    restored = MLPGenerator(z_dim=4, image_shape=(1, 4, 4), hidden_dim=8).eval()
    checkpoints.load_model_state(restored, {k: v.float() if v.is_floating_point() else v for k, v in weights.items()})
    z = torch.randn(3, 4)
    assert torch.allclose(restored(z), G(z), atol=1e-2)
    averaged = torch.optim.swa_utils.AveragedModel(G)
    assert "n_averaged" in averaged.state_dict() and "n_averaged" not in export_weights(averaged)


def test_json_records_are_replaced_whole(tmp_path):
    import json

    path = tmp_path / "run" / "curve.json"
    checkpoints.write_json_atomic(path, {"points": [1]})
    checkpoints.write_json_atomic(path, {"points": [1, 2]}, indent=1)
    assert json.loads(path.read_text()) == {"points": [1, 2]} and path.read_text().endswith("]\n}\n")
    assert [p.name for p in path.parent.iterdir()] == ["curve.json"]  # no temporary file left beside it
