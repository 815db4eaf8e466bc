"""Strip per-run metadata from notebooks: timestamps, durations and papermill's records.

    python scripts/clean_notebooks.py notebooks/*.ipynb           # rewrite the files in place
    python scripts/clean_notebooks.py --check notebooks/*.ipynb   # only list them; exit 1 if any

Every execution rewrites these records, so without this step a re-run changes every cell of a
notebook even where its outputs are the same. Removed: the notebook's ``metadata.papermill``
and ``metadata.execution``, and each cell's ``metadata.papermill`` and ``metadata.execution``
(the kernel's iopub/shell timestamps). Everything else stays: outputs and execution counts,
``tags`` (``parameters``, ...), ``jupyter.source_hidden``, ``nbgrader`` and widget state.
``scripts/run_course.sh`` runs this on every notebook it writes; tests/test_notebook_metadata.py
checks the committed notebooks. Needs only the Python standard library.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

NOTEBOOK_KEYS = ("papermill", "execution")
CELL_KEYS = ("papermill", "execution")


def per_run_records(notebook: dict) -> list[str]:
    """Where ``notebook`` holds per-run metadata, e.g. ``["metadata.papermill", "cells[3].metadata.execution"]``.

    Args:
        notebook: a notebook as parsed from its JSON file (nbformat 4).

    Returns:
        The paths of the records, in file order; empty when the notebook is clean.
    """
    found = [f"metadata.{key}" for key in NOTEBOOK_KEYS if key in notebook.get("metadata", {})]
    for index, cell in enumerate(notebook.get("cells", [])):
        found += [f"cells[{index}].metadata.{key}" for key in CELL_KEYS if key in cell.get("metadata", {})]
    return found


def strip_per_run_metadata(notebook: dict) -> list[str]:
    """Remove the per-run records from ``notebook`` (in place).

    Args:
        notebook: a notebook as parsed from its JSON file (nbformat 4).

    Returns:
        The paths of the removed records (see :func:`per_run_records`).
    """
    removed = per_run_records(notebook)
    for key in NOTEBOOK_KEYS:
        notebook.get("metadata", {}).pop(key, None)
    for cell in notebook.get("cells", []):
        for key in CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
    return removed


def read_notebook(path: Path) -> dict:
    """The parsed JSON of the notebook at ``path``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a notebook's JSON.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such notebook; pass the paths of .ipynb files.")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid notebook JSON ({error}); is it a .ipynb file?") from error
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise ValueError(f"{path} has no 'cells': it is JSON but not a notebook.")
    return notebook


def write_notebook(notebook: dict, path: Path) -> None:
    """Write ``notebook`` as Jupyter and nbformat do (one-space indent, sorted keys), so only real changes show."""
    path.write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path, help=".ipynb files")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook has records")
    args = parser.parse_args(argv)
    dirty = 0
    for path in args.notebooks:
        try:
            notebook = read_notebook(path)
        except (FileNotFoundError, ValueError) as error:
            print(f"clean_notebooks: {error}", file=sys.stderr)
            return 2
        records = per_run_records(notebook) if args.check else strip_per_run_metadata(notebook)
        if records:
            dirty += 1
            action = "has" if args.check else "removed"
            print(f"{path}: {action} {len(records)} per-run record(s), e.g. {', '.join(records[:3])}")
            if not args.check:
                write_notebook(notebook, path)
    if args.check and dirty:
        print(f"clean_notebooks: {dirty} notebook(s) carry per-run metadata; run "
              f"'python scripts/clean_notebooks.py {' '.join(str(p) for p in args.notebooks)}'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
