"""Keeping a checkpoint path to one training at a time, and its folder clean.

Three things can lose a run or leave files behind, and this module answers each:

- two trainings on one ``checkpoint_path`` overwrite each other's saves: :class:`CheckpointLock`
  writes a lock file ``<checkpoint>.lock`` holding the owner's PID (and host and process start
  time); a second training is refused while that process lives, and a lock whose process has
  died (killed, crashed) is taken over, so a kill never leaves a path locked;
- a save killed half-way leaves its temporary file ``.<name>.<pid>.<random>.tmp``:
  :func:`remove_stale_temporaries` deletes those whose writing process is gone, on the next
  save or load;
- a folder that cannot be written, a directory or a foreign file at the checkpoint path
  would fail only at the first save, after the training it was meant to keep:
  :func:`check_checkpoint_path` says so before training starts.

Only files this module or :func:`ganlib.checkpoints.save_checkpoint` wrote are ever deleted.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType

# torch.save writes a zip archive; older torch versions wrote a bare pickle (protocol 2).
_TORCH_MAGICS = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
# A temporary file named without its writer's PID is removed once it is this old (seconds).
_ORPHAN_AGE = 600.0


class CheckpointInUseError(RuntimeError):
    """Another live training holds the lock on this checkpoint path."""


def lock_path(checkpoint: str | os.PathLike) -> Path:
    """The lock file of a checkpoint: ``state.pt`` -> ``state.pt.lock`` in the same folder."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + ".lock")


def temporary_prefix(checkpoint: str | os.PathLike) -> str:
    """The name prefix of this process's temporary files for ``checkpoint``: ``.state.pt.<pid>.``."""
    return f".{Path(checkpoint).name}.{os.getpid()}."


def process_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


def _process_start(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (Linux), to tell a reused PID apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22 counted from the PID


def remove_stale_temporaries(checkpoint: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted saves of ``checkpoint`` left in its folder.

    A file ``.<name>.<pid>.<random>.tmp`` goes when process ``pid`` is gone or is this one
    (a save of this process that raised); one without a PID in its name when it is older than
    ten minutes. A save in progress in another live process is never touched.

    Args:
        checkpoint: the checkpoint's path.

    Returns:
        The paths removed.
    """
    checkpoint = Path(checkpoint)
    if not checkpoint.parent.is_dir():
        return []
    removed = []
    prefix = f".{checkpoint.name}."
    for candidate in checkpoint.parent.glob(f".{_glob_escape(checkpoint.name)}.*.tmp"):
        middle = candidate.name[len(prefix):-len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        try:
            if pid_text.isdigit() and "." in middle:
                stale = int(pid_text) == os.getpid() or not process_alive(int(pid_text))
            else:
                stale = time.time() - candidate.stat().st_mtime > _ORPHAN_AGE
            if stale and candidate.is_file():
                candidate.unlink()
                removed.append(candidate)
        except OSError:  # removed by someone else meanwhile, or not ours to remove
            continue
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def check_checkpoint_path(checkpoint: str | os.PathLike) -> Path:
    """Make sure a training can keep its checkpoints at ``checkpoint``, before it starts.

    Creates the folder if needed and writes (then removes) a small probe file in it.

    Args:
        checkpoint: the intended checkpoint file.

    Returns:
        The path, as a ``Path``.

    Raises:
        ValueError: the path is a directory, or an existing file that is no checkpoint
            (it is left untouched; the message says what it looks like).
        PermissionError: the folder cannot be created or written.
    """
    checkpoint = Path(checkpoint).expanduser()
    if checkpoint.is_dir():
        raise ValueError(
            f"checkpoint_path {checkpoint} is a directory; pass the path of a file inside it, e.g. "
            f"checkpoint_path={str(checkpoint / 'state.pt')!r}."
        )
    if checkpoint.exists() and not checkpoint.is_file():
        raise ValueError(f"checkpoint_path {checkpoint} exists but is not a regular file; choose another path.")
    if checkpoint.is_file():
        kind = foreign_file_kind(checkpoint)
        if kind is not None:
            raise ValueError(
                f"checkpoint_path {checkpoint} holds {kind}, not a checkpoint written by ganlib; it was left "
                "untouched. Choose another checkpoint_path (a new file name, e.g. ending in .pt)."
            )
    folder = checkpoint.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=temporary_prefix(checkpoint), suffix=".tmp"):
            pass
    except OSError as error:
        raise PermissionError(
            f"Checkpoints cannot be written to {folder} ({type(error).__name__}: {error.strerror or error}). "
            "Nothing was trained. Choose a checkpoint_path in a folder you can write to, e.g. under "
            "runs/ in the course folder, or pass checkpoint_path=None to train without checkpoints."
        ) from None
    return checkpoint


def foreign_file_kind(path: Path) -> str | None:
    """None for a file that starts like a ``torch.save`` file, else a short description of what it holds."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head:
        return None  # an empty file is what a save killed before its first byte would have left
    if head.startswith(_TORCH_MAGICS):
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of another format"
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    return f"text (it starts with {first!r})"


class CheckpointLock:
    """Hold ``<checkpoint>.lock`` while a training writes ``checkpoint``; use as a context manager.

    The lock file holds ``pid host start-time``. Acquiring refuses a lock held by a live
    process (:class:`CheckpointInUseError`, naming the path and the PID) and takes over one
    whose process is gone. A lock left by this very process (e.g. an interrupted notebook
    cell) is taken over too.

    Args:
        checkpoint: the checkpoint file the training writes; None for a lock that holds nothing.
    """

    def __init__(self, checkpoint: str | os.PathLike | None) -> None:
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.path = None if checkpoint is None else lock_path(checkpoint)
        self.held = False

    def _record(self) -> str:
        return f"{os.getpid()} {socket.gethostname()} {_process_start(os.getpid()) or '-'}\n"

    def acquire(self) -> CheckpointLock:
        """Take the lock, or raise :class:`CheckpointInUseError` if a live training holds it."""
        if self.path is None:
            return self
        for _ in range(3):  # a stale lock is removed, then taken on the next try
            if self._try_create():
                self.held = True
                return self
            owner = self._read_owner()
            if owner is not None and self._owner_alive(owner):
                pid, host = owner[0], owner[1]
                where = "" if host == socket.gethostname() else f" on host {host}"
                raise CheckpointInUseError(
                    f"The checkpoint {self.checkpoint} is in use by another training (process {pid}{where}, "
                    f"lock file {self.path}). Two trainings on one checkpoint would overwrite each other: "
                    "wait for that one to finish, stop it, or pass another checkpoint_path. If that process "
                    f"is not a training of this course, remove {self.path}."
                )
            self._remove_if_unchanged(owner)
        raise CheckpointInUseError(f"Could not take the lock {self.path} for {self.checkpoint}; try again.")

    def release(self) -> None:
        """Give the lock back (only if this process still holds it)."""
        if not self.held:
            return
        self.held = False
        owner = self._read_owner()
        if owner is not None and owner[0] == os.getpid():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> CheckpointLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.release()

    def _try_create(self) -> bool:
        # Write the record to a private file, then link it to the lock's name: the link fails if
        # the lock exists, so no reader ever sees a lock file without its owner written in it.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, private = tempfile.mkstemp(dir=self.path.parent, prefix=temporary_prefix(self.path), suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self._record())
            os.link(private, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            Path(private).unlink(missing_ok=True)

    def _read_owner(self) -> tuple[int, str, str] | None:
        try:
            fields = self.path.read_text().split()
            return int(fields[0]), fields[1], fields[2]
        except (OSError, ValueError, IndexError):
            return None  # gone meanwhile, or not a lock this module wrote

    def _owner_alive(self, owner: tuple[int, str, str]) -> bool:
        pid, host, start = owner
        if host != socket.gethostname():
            return True  # a process on another machine cannot be checked from here: assume it runs
        if pid == os.getpid() or not process_alive(pid):
            return False
        current = _process_start(pid)
        return start == "-" or current is None or current == start  # else the PID was reused

    def _remove_if_unchanged(self, owner: tuple[int, str, str] | None) -> None:
        """Remove a stale lock, unless another process replaced it since it was read."""
        if owner is None and self.path.exists():
            raise CheckpointInUseError(
                f"{self.path} exists but is not a lock file written by ganlib; it was left untouched. "
                "Pass another checkpoint_path, or move that file away if it is yours."
            )
        if self._read_owner() == owner:
            self.path.unlink(missing_ok=True)


def hold_checkpoint(checkpoint: str | os.PathLike | None) -> CheckpointLock:
    """Everything a training does with its checkpoint path before the first step, in one call.

    Checks the path (:func:`check_checkpoint_path`), takes its lock (:class:`CheckpointLock`)
    and removes temporary files that killed saves left. ``None`` (no checkpoints) gives a lock
    that holds nothing. Release it with ``.release()`` (or use it in a ``with`` block).

    Raises:
        ValueError, PermissionError: as :func:`check_checkpoint_path`.
        CheckpointInUseError: another live training writes this checkpoint.
    """
    if checkpoint is None:
        return CheckpointLock(None)
    lock = CheckpointLock(check_checkpoint_path(checkpoint)).acquire()
    remove_stale_temporaries(checkpoint)
    return lock
