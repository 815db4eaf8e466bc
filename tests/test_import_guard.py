"""A notebook opened where ganlib is not installed says how to install it, instead of a bare import error.

The first code cell of every notebook is the set-up check (it starts with ``MARKER``). Each test
runs that cell alone in a fresh Python: once with ganlib made unimportable
(``sys.modules['ganlib'] = None``, as in a plain Jupyter or a cloud notebook without the course's
set-up), where it must raise one ModuleNotFoundError naming the install commands and the data
folders, and once in this venv, where it must pass silently.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MARKER = "# Setup check: is ganlib installed?"
# What the message must name: the repository's one command and its set-up step, the pip route,
# and the places the data is looked up.
MUST_NAME = ("bash scripts/run_course.sh", "scripts/setup_env.sh", "pip install -e", "GANLIB_DATA", "./data",
             "../shared/data")


def guard_cell(path: Path) -> str:
    """Source of the notebook's first code cell, which must be the set-up check."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code, f"{path.name} has no code cell"
    source = "".join(code[0]["source"])
    assert source.startswith(MARKER), (
        f"{path.name}: the first code cell must be the set-up check starting with {MARKER!r} "
        f"(the cell's code is in the README's notes); it starts with {source.splitlines()[:1]}"
    )
    return source


def run_cell(source: str, tmp_path: Path, *, hide_ganlib: bool) -> subprocess.CompletedProcess:
    prelude = "import sys\nsys.modules['ganlib'] = None\n" if hide_ganlib else ""
    return subprocess.run([sys.executable, "-c", prelude + source], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_first_cell_explains_a_missing_ganlib(path, tmp_path):
    result = run_cell(guard_cell(path), tmp_path, hide_ganlib=True)
    assert result.returncode != 0, "the set-up check passed although ganlib cannot be imported"
    error = result.stderr
    assert "ModuleNotFoundError: " in error, error
    assert "During handling of the above exception" not in error, "one message, not a chain of two errors"
    missing = [phrase for phrase in MUST_NAME if phrase not in error]
    assert not missing, f"the message does not name {missing}:\n{error}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_first_cell_is_silent_when_ganlib_imports(path, tmp_path):
    result = run_cell(guard_cell(path), tmp_path, hide_ganlib=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
