"""Notebook checkpoint folders: the same after a restart, one per settings, temporary ones removed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from ganlib import train
from ganlib.checkpoint_guard import lock_path
from ganlib.data import TensorBatches
from ganlib.models import MLPDiscriminator, MLPGenerator
from ganlib.run_folders import list_run_folders, remove_run_folders, run_folder, runs_root

SETTINGS = {"width": 32, "lr": 3e-4, "seed": 0, "ema": 0.99}


def _python(code: str, root: Path) -> subprocess.Popen:
    env = dict(os.environ, GANLIB_RUNS=str(root), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_same_notebook_and_settings_give_the_same_folder_in_a_new_process(tmp_path: Path) -> None:
    here = run_folder("04_acgan_wgan_gp_cifar10", SETTINGS, root=tmp_path)
    reordered = dict(reversed(list(SETTINGS.items())))
    process = _python(f"""
        from ganlib.run_folders import run_folder
        print(run_folder("04_acgan_wgan_gp_cifar10", {reordered!r}))
    """, tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert Path(out.strip()) == here and here.parent == tmp_path and here.name.startswith("04_acgan_wgan_gp_cifar10-")
    assert run_folder("04_acgan_wgan_gp_cifar10", SETTINGS | {"lr": 1e-4}, root=tmp_path) != here


def test_environment_variable_sets_the_root(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GANLIB_RUNS", str(tmp_path / "elsewhere"))
    assert runs_root() == tmp_path / "elsewhere"


def _make_run():
    gan = train.make_gan(MLPGenerator(z_dim=8, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=8)
    return gan, TensorBatches(torch.rand(64, 1, 28, 28), torch.zeros(64, dtype=torch.long), batch_size=16)


def test_a_restarted_notebook_resumes_from_its_folder(tmp_path: Path) -> None:
    gan, batches = _make_run()
    train.fit(gan, batches, 3, log_every=1, progress=False,
              checkpoint_path=run_folder("01_basic_gan", SETTINGS, root=tmp_path) / "gan.pt")
    gan, batches = _make_run()  # a new kernel: fresh objects, the same call
    history = train.fit(gan, batches, 5, log_every=1, progress=False,
                        checkpoint_path=run_folder("01_basic_gan", SETTINGS, root=tmp_path) / "gan.pt")
    assert gan.step == 5 and history["step"] == [1, 2, 3, 4, 5]
    gan, batches = _make_run()
    folder = run_folder("01_basic_gan", SETTINGS, root=tmp_path, fresh=True)  # start over on purpose
    assert not (folder / "gan.pt").exists()


def test_temporary_folder_goes_when_the_process_ends(tmp_path: Path) -> None:
    process = _python("""
        from ganlib.run_folders import run_folder
        folder = run_folder("05_interpolation_exploration", {"smoke": True}, temporary=True)
        (folder / "state.pt").write_bytes(b"x")
        print(folder)
    """, tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert not Path(out.strip()).exists()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_temporary_folder_of_a_killed_process_goes_on_the_next_call(tmp_path: Path) -> None:
    process = _python("""
        import time
        from ganlib.run_folders import run_folder
        print(run_folder("02_dcgan", {"smoke": True}, temporary=True), flush=True)
        time.sleep(60)
    """, tmp_path)
    left = Path(process.stdout.readline().strip())
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert left.is_dir()  # a kill runs no clean-up
    kept = run_folder("02_dcgan", {"smoke": False}, root=tmp_path)
    assert not left.exists() and kept.is_dir()


def test_remove_run_folders_removes_only_its_own_and_not_a_live_run(tmp_path: Path) -> None:
    mine = run_folder("01_basic_gan", SETTINGS, root=tmp_path)
    other_notebook = run_folder("03_conditional_gan", SETTINGS, root=tmp_path)
    busy = run_folder("01_basic_gan", SETTINGS | {"seed": 1}, root=tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    foreign = tmp_path / "my_notes"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    try:
        lock_path(busy / "gan.pt").write_text(f"{holder.pid} {socket.gethostname()} -\n")
        assert remove_run_folders("01_basic_gan", root=tmp_path) == [mine]
        assert busy.is_dir() and other_notebook.is_dir() and foreign.is_dir()
        assert set(list_run_folders(tmp_path)) == {busy, other_notebook}
    finally:
        holder.kill()
        holder.wait()
    assert set(remove_run_folders(root=tmp_path)) == {busy, other_notebook}
    assert (foreign / "notes.txt").read_text() == "mine\n"


@pytest.mark.parametrize("notebook, settings", [("../etc", {}), ("", {}), ("01_basic_gan", ["seed", 0])])
def test_bad_arguments(tmp_path: Path, notebook, settings) -> None:
    with pytest.raises(ValueError):
        run_folder(notebook, settings, root=tmp_path)
