"""One training per checkpoint path, nothing left behind, and path problems found before training.

Concurrency is tested with real processes: a training in a subprocess holds the lock while a
second one, here, tries the same path; a SIGKILLed holder leaves a stale lock to take over.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from ganlib import checkpoints, train
from ganlib.checkpoint_guard import (
    CheckpointInUseError,
    CheckpointLock,
    check_checkpoint_path,
    lock_path,
    remove_stale_temporaries,
)
from ganlib.data import TensorBatches
from ganlib.models import MLPDiscriminator, MLPGenerator

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

Z_DIM = 8


def _make_run():
    gan = train.make_gan(MLPGenerator(z_dim=Z_DIM, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=Z_DIM)
    batches = TensorBatches(torch.rand(64, 1, 28, 28), torch.zeros(64, dtype=torch.long), batch_size=16)
    return gan, batches


def _dead_pid() -> int:
    """The PID of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


# A training that checkpoints, then waits inside on_log until the test lets it go on.
SLOW_TRAINING = """
    import sys, time
    from pathlib import Path
    import torch
    from ganlib import train
    from ganlib.data import TensorBatches
    from ganlib.models import MLPDiscriminator, MLPGenerator
    path, go = sys.argv[1], Path(sys.argv[2])
    gan = train.make_gan(MLPGenerator(z_dim=8, hidden_dim=8), MLPDiscriminator(hidden_dim=8), z_dim=8)
    batches = TensorBatches(torch.rand(64, 1, 28, 28), torch.zeros(64, dtype=torch.long), batch_size=16)

    def wait(gan):
        if gan.step == 2:
            print("training", flush=True)
            while not go.exists():
                time.sleep(0.05)

    train.fit(gan, batches, 4, log_every=1, checkpoint_every=1, checkpoint_path=path, on_log=wait, progress=False)
    print("done", gan.step, flush=True)
"""


def _start(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", TQDM_DISABLE="1")
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_training_on_a_path_in_use_is_refused(tmp_path: Path) -> None:
    path, go = tmp_path / "run.pt", tmp_path / "go"
    first = _start(SLOW_TRAINING, str(path), str(go))
    try:
        assert first.stdout.readline().strip() == "training", first.stderr.read()
        saved_by_first = checkpoints.load_checkpoint(path)["step"]
        gan, batches = _make_run()
        with pytest.raises(CheckpointInUseError) as info:
            train.fit(gan, batches, 4, log_every=1, checkpoint_path=path, progress=False)
        message = str(info.value)
        assert str(path) in message and f"process {first.pid}" in message and "another checkpoint_path" in message
        assert gan.step == 0  # refused before training, and before reading the other run's checkpoint
        assert checkpoints.load_checkpoint(path)["step"] == saved_by_first
    finally:
        go.touch()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert out.strip().endswith("done 4")
    assert checkpoints.load_checkpoint(path)["step"] == 4  # the first run's work is whole
    assert not lock_path(path).exists(), "the finished training left its lock behind"
    gan, batches = _make_run()  # once it is done, the path is free again
    train.fit(gan, batches, 6, log_every=1, checkpoint_path=path, progress=False)
    assert gan.step == 6


def test_killed_training_leaves_a_lock_that_is_taken_over(tmp_path: Path) -> None:
    path, go = tmp_path / "run.pt", tmp_path / "go"
    first = _start(SLOW_TRAINING, str(path), str(go))
    assert first.stdout.readline().strip() == "training", first.stderr.read()
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert lock_path(path).read_text().split()[0] == str(first.pid)  # a kill runs no cleanup
    gan, batches = _make_run()
    train.fit(gan, batches, 4, log_every=1, checkpoint_path=path, progress=False)  # resumes from step 2
    assert gan.step == 4 and len(gan.history["step"]) == 4
    assert not lock_path(path).exists()


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    lock_path(path).write_text(f"{_dead_pid()} {socket.gethostname()} -\n")
    with CheckpointLock(path) as lock:
        assert lock_path(path).read_text().split()[0] == str(os.getpid()) and lock.held
    assert not lock_path(path).exists()


def test_lock_of_a_live_process_is_respected_and_a_reused_pid_is_not(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        start = Path(f"/proc/{holder.pid}/stat").read_text().rsplit(")", 1)[-1].split()[19]
        lock_path(path).write_text(f"{holder.pid} {socket.gethostname()} {start}\n")
        with pytest.raises(CheckpointInUseError, match=f"process {holder.pid}"):
            CheckpointLock(path).acquire()
        # The same PID with another start time is a new process that reused the number.
        lock_path(path).write_text(f"{holder.pid} {socket.gethostname()} {int(start) + 1}\n")
        with CheckpointLock(path):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_lock_from_another_host_is_respected(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    lock_path(path).write_text("12345 some-other-machine -\n")
    with pytest.raises(CheckpointInUseError, match="on host some-other-machine"):
        CheckpointLock(path).acquire()


def test_a_foreign_file_at_the_lock_path_is_not_removed(tmp_path: Path) -> None:
    path = tmp_path / "run.pt"
    lock_path(path).write_text("my shopping list\n")
    with pytest.raises(CheckpointInUseError, match="not a lock file written by ganlib; it was left untouched"):
        CheckpointLock(path).acquire()
    assert lock_path(path).read_text() == "my shopping list\n"


def test_temporaries_of_dead_savers_go_on_the_next_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "state.pt"
    checkpoints.save_checkpoint({"i": 1}, path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = tmp_path / f".state.pt.{_dead_pid()}.abc123.tmp"
        live = tmp_path / f".state.pt.{holder.pid}.def456.tmp"  # a save in progress elsewhere
        old_unnamed, new_unnamed = tmp_path / ".state.pt.k2j3h4.tmp", tmp_path / ".state.pt.q9w8e7.tmp"
        other = tmp_path / ".other.pt.1.x.tmp"
        for file in (dead, live, old_unnamed, new_unnamed, other):
            file.write_bytes(b"partial")
        an_hour_ago = time.time() - 3600
        os.utime(old_unnamed, (an_hour_ago, an_hour_ago))
        checkpoints.load_checkpoint(path)
        assert not dead.exists() and not old_unnamed.exists()
        assert live.exists() and new_unnamed.exists() and other.exists()
        dead2 = tmp_path / f".state.pt.{_dead_pid()}.ghi789.tmp"
        dead2.write_bytes(b"partial")
        checkpoints.save_checkpoint({"i": 2}, path)
        assert not dead2.exists() and live.exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_stale_temporaries(path) == [live]  # its writer is gone now


def test_unwritable_folder_fails_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the checkpoint folder should be\n")
    gan, batches = _make_run()
    with pytest.raises(PermissionError, match="cannot be written.*Nothing was trained"):
        train.fit(gan, batches, 4, log_every=1, checkpoint_path=blocker / "run.pt", progress=False)
    assert gan.step == 0


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_folder_fails_before_training(tmp_path: Path) -> None:
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        gan, batches = _make_run()
        with pytest.raises(PermissionError, match=str(folder)):
            train.fit(gan, batches, 4, log_every=1, checkpoint_path=folder / "run.pt", progress=False)
        assert gan.step == 0
    finally:
        folder.chmod(0o700)


def test_read_only_folder_check_when_root(tmp_path: Path, monkeypatch) -> None:
    """The same check where the OS refuses the probe file (simulated: root ignores permissions)."""
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    with pytest.raises(PermissionError, match="cannot be written"):
        check_checkpoint_path(tmp_path / "run.pt")


def test_text_file_at_checkpoint_path_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    gan, batches = _make_run()
    with pytest.raises(ValueError, match="holds text .*'my notes'.*left untouched") as info:
        train.fit(gan, batches, 4, log_every=1, checkpoint_path=path, progress=False)
    assert "delete" not in str(info.value).lower()
    assert path.read_text() == "my notes\n" and gan.step == 0
    with pytest.raises(ValueError, match="left untouched"):  # also with resume=False: never overwritten
        train.fit(gan, batches, 4, log_every=1, checkpoint_path=path, resume=False, progress=False)
    assert path.read_text() == "my notes\n"


def test_directory_at_checkpoint_path_says_so(tmp_path: Path) -> None:
    gan, batches = _make_run()
    with pytest.raises(ValueError, match="is a directory; pass the path of a file inside it") as info:
        train.fit(gan, batches, 4, log_every=1, checkpoint_path=tmp_path, progress=False)
    assert "train first" not in str(info.value) and gan.step == 0


@pytest.mark.parametrize("kwargs, expected", [
    ({"checkpoint_every": -10}, "checkpoint_every must be a positive int"),
    ({"checkpoint_every": 0}, "checkpoint_every must be a positive int"),
    ({"checkpoint_every": 2.0}, "checkpoint_every must be a positive int"),
    ({"checkpoint_every": -1, "log_every": 1}, "checkpoint_every must be a positive int"),
    ({"max_abs_loss": 0}, "max_abs_loss must be a positive number"),
    ({"max_abs_loss": float("nan")}, "max_abs_loss must be a positive number"),
    ({"checkpoint_path": 5}, "checkpoint_path must be a file path"),
    ({"resume": "yes"}, "resume must be True or False"),
    ({"on_log": "print"}, "on_log must be a function"),
    ({"step_fn": 3}, "step_fn must be a function"),
])
def test_fit_rejects_bad_arguments(kwargs: dict, expected: str) -> None:
    gan, batches = _make_run()
    with pytest.raises(ValueError, match=expected):
        train.fit(gan, batches, 4, progress=False, **kwargs)
    assert gan.step == 0
