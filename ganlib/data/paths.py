"""Where the data sets live: the ``root`` argument, ``$GANLIB_DATA``, ``<repo>/data``, ``<repo>/../shared/data``."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "GANLIB_DATA"
_REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def resolve_data_root(root: str | os.PathLike | None = None) -> Path:
    """Find the folder that holds (or will hold) the data sets.

    Args:
        root: an explicit folder; wins over everything else.

    Returns:
        The argument, else ``$GANLIB_DATA``, else the first of ``<repo>/data`` and
        ``<repo>/../shared/data`` that exists, else ``<repo>/data`` (where a download goes).
    """
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    candidates = [_REPO_ROOT / "data", _REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def missing_message(name: str, folder: Path, layout: str) -> str:
    """The FileNotFoundError text for a data set missing from ``folder``: where to put it, how to point at it."""
    return (
        f"{name} was not found under {folder} (expected {layout} there) and could not be "
        f"downloaded. Pass root=... or set the {DATA_ENV_VAR} environment variable to the "
        f"folder that holds {layout}, or connect to the internet so torchvision can download it."
    )
