"""Checkpoint folders for notebook runs: the same folder after a kernel restart, and a way to clean up.

A notebook that trains for minutes keeps its checkpoint in a folder named after the notebook
and the settings that decide what the run learns, so that re-running the notebook after a
kernel restart (or a crash) finds the checkpoint and resumes instead of starting over, and a
run with other settings gets a folder of its own instead of a refusal to resume::

    from ganlib.run_folders import run_folder
    checkpoint = run_folder("04_acgan_wgan_gp_cifar10", {"width": 32, "lr": 3e-4, "seed": 0}) / "acgan.pt"
    fit(gan, batches, num_steps, checkpoint_path=checkpoint)

The folders live under ``$GANLIB_RUNS``, else ``<course folder>/runs/checkpoints`` (ignored by
git) when it can be written, else ``~/.cache/ganlib/runs``. Each holds a ``run.json`` that
says which notebook and settings made it; only folders with that file are ever removed.
``temporary=True`` (smoke runs, CI) makes a folder that is removed when the Python process
ends, and by the next :func:`run_folder` call if the process was killed first.
Remove old ones with :func:`remove_run_folders` (or delete the folder by hand).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from ganlib.checkpoint_guard import process_alive

RUNS_ENV_VAR = "GANLIB_RUNS"
MARKER = "run.json"
_REPO_RUNS = Path(__file__).resolve().parent.parent / "runs" / "checkpoints"
_temporary: list[Path] = []  # this process's temporary folders, removed at exit


def runs_root(root: str | os.PathLike | None = None) -> Path:
    """Where run folders go: ``root``, else ``$GANLIB_RUNS``, else ``<course>/runs/checkpoints``
    if it can be written, else ``~/.cache/ganlib/runs``."""
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(RUNS_ENV_VAR):
        return Path(os.environ[RUNS_ENV_VAR]).expanduser()
    try:
        _REPO_RUNS.mkdir(parents=True, exist_ok=True)
        if os.access(_REPO_RUNS, os.W_OK):
            return _REPO_RUNS
    except OSError:
        pass
    return Path.home() / ".cache" / "ganlib" / "runs"


def settings_key(settings: dict[str, Any]) -> str:
    """A short, stable hash of a run's settings (order of the keys does not matter)."""
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def run_folder(notebook: str, settings: dict[str, Any], *, temporary: bool = False, fresh: bool = False,
               root: str | os.PathLike | None = None) -> Path:
    """The checkpoint folder of one notebook run: ``<runs root>/<notebook>-<settings hash>/``.

    Args:
        notebook: the notebook's name, e.g. ``"04_acgan_wgan_gp_cifar10"`` (letters, digits, ``_-``).
        settings: what decides what the run learns (widths, learning rates, seed, data size...),
            plain values; leave out what only says how long to train (a resumed run may train longer).
        temporary: remove the folder when this Python process ends (smoke runs, CI).
        fresh: empty the folder first, to start the run over instead of resuming it.
        root: the runs root (see :func:`runs_root`).

    Returns:
        The folder, created; put the checkpoint file inside it.

    Raises:
        ValueError: a notebook name that is not a plain file name, or settings that are not a dict.
    """
    if not isinstance(notebook, str) or not notebook or not all(c.isalnum() or c in "_-" for c in notebook):
        raise ValueError(f"notebook must be a plain name like '04_acgan_wgan_gp_cifar10', got {notebook!r}.")
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict of the run's settings, got {type(settings).__name__}.")
    base = runs_root(root)
    _remove_abandoned_temporaries(base)
    folder = base / f"{notebook}-{settings_key(settings)}"
    if fresh and (folder / MARKER).is_file():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    marker = {"notebook": notebook, "settings": json.loads(json.dumps(settings, default=repr)),
              "temporary": temporary, "pid": os.getpid() if temporary else None}
    (folder / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")
    if temporary and folder not in _temporary:
        _temporary.append(folder)
    return folder


def list_run_folders(root: str | os.PathLike | None = None) -> list[Path]:
    """Every run folder under the runs root (those holding a ``run.json``), sorted by name."""
    base = runs_root(root)
    return sorted(path.parent for path in base.glob(f"*/{MARKER}")) if base.is_dir() else []


def remove_run_folders(notebook: str | None = None, *, root: str | os.PathLike | None = None) -> list[Path]:
    """Delete run folders (all, or one notebook's) with their checkpoints; returns what was removed.

    Only folders made by :func:`run_folder` (they hold ``run.json``) are touched, and none whose
    checkpoint a live training holds locked.
    """
    removed = []
    for folder in list_run_folders(root):
        if notebook is not None and _read_marker(folder).get("notebook") != notebook:
            continue
        if _locked(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _read_marker(folder: Path) -> dict:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return {}


def _locked(folder: Path) -> bool:
    """A live process holds a checkpoint lock in this folder."""
    for lock in folder.glob("*.lock"):
        try:
            pid = int(lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return True  # unreadable: better kept than lost
        if process_alive(pid) and pid != os.getpid():
            return True
    return False


def _remove_abandoned_temporaries(base: Path) -> None:
    """Temporary folders whose process was killed before it could remove them."""
    if not base.is_dir():
        return
    for marker_file in base.glob(f"*/{MARKER}"):
        marker = _read_marker(marker_file.parent)
        pid = marker.get("pid")
        if marker.get("temporary") and isinstance(pid, int) and pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(marker_file.parent, ignore_errors=True)


@atexit.register
def _remove_temporaries() -> None:
    for folder in _temporary:
        if (folder / MARKER).is_file():
            shutil.rmtree(folder, ignore_errors=True)
