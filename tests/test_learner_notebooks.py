"""The learner's notebooks: made by nbgrader from the solution notebooks, and their checks work.

`scripts/make_learner_notebooks.sh` writes the learner's version (solutions removed by
`nbgrader generate_assignment`). For every exercise (a cell nbgrader marks as a solution
cell, followed by a cell that calls a `check_*` function) this test runs the cells' own
sources in a fresh namespace, as the learner would in JupyterLab:

1. the learner's empty exercise, then its check: the check must fail with its message;
2. the solution pasted back in, then the check: it must print "Success!".

Earlier exercises of the same notebook are taken as solved (their solutions run first), as a
learner who works in order has them. Only the exercise and check cells run, so this takes
seconds; `tests/test_notebooks.py` and nbval execute the solution notebooks in full.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ganlib.exercises import ExerciseError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# What each notebook's import cell provides to its exercise cells.
PREAMBLE = """
import math
import torch
from torch import nn
import torch.nn.functional as F
from ganlib import exercises
"""


def _is_solution(cell) -> bool:
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution", False)


def _exercises(path: Path) -> list[tuple[str, int]]:
    """(grade_id, cell index) of every solution cell, in notebook order."""
    nb = nbformat.read(path, as_version=4)
    return [(c.metadata["nbgrader"]["grade_id"], i) for i, c in enumerate(nb.cells) if _is_solution(c)]


CASES = [(path.name, grade_id, index) for path in NOTEBOOKS for grade_id, index in _exercises(path)]


@pytest.fixture(scope="module")
def learner_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("learner")
    env = dict(os.environ, PYTHON=sys.executable)
    result = subprocess.run(["bash", str(ROOT / "scripts" / "make_learner_notebooks.sh"), str(out)],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _run(source: str, namespace: dict) -> str:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(source, "<cell>", "exec"), namespace)
    return stdout.getvalue()


def test_every_notebook_has_exercises() -> None:
    for path in NOTEBOOKS:
        assert _exercises(path), f"{path.name} has no exercise (nbgrader solution cell)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_learner_version_hides_the_solutions(learner_dir: Path, path: Path) -> None:
    solution = nbformat.read(path, as_version=4)
    learner = nbformat.read(learner_dir / path.name, as_version=4)
    assert len(learner.cells) == len(solution.cells), "nbgrader must keep every cell"
    for sol, lea in zip(solution.cells, learner.cells):
        assert "BEGIN SOLUTION" not in lea.source and "END SOLUTION" not in lea.source
        if _is_solution(sol):
            assert "### BEGIN SOLUTION" in sol.source, f"{path.name}: solution cell without markers"
            assert "raise NotImplementedError()" in lea.source
        else:
            assert lea.source == sol.source, f"{path.name}: a cell without solution changed"
        if lea.cell_type == "code":
            assert not lea.outputs, "the learner's version starts without outputs"


@pytest.mark.parametrize("name, grade_id, index", CASES, ids=[f"{n[:2]}-{g}" for n, g, _ in CASES])
def test_check_fails_on_the_empty_exercise_and_passes_on_the_solution(learner_dir, name, grade_id, index) -> None:
    solution = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
    learner = nbformat.read(learner_dir / name, as_version=4).cells
    check = solution[index + 1].source
    assert "exercises.check_" in check, f"{name}: the cell after exercise {grade_id} must call its check"
    assert "# NBVAL_CHECK_OUTPUT" in check, f"{name}: the check cell of {grade_id} must be # NBVAL_CHECK_OUTPUT"

    namespace: dict = {}
    _run(PREAMBLE, namespace)
    for _, earlier in _exercises(ROOT / "notebooks" / name):
        if earlier == index:
            break
        _run(solution[earlier].source, namespace)  # the learner solved the earlier ones

    _run(learner[index].source, namespace)
    with pytest.raises(ExerciseError, match="not implemented yet"):
        _run(check, namespace)

    _run(solution[index].source, namespace)  # paste the solution back in
    assert _run(check, namespace) == "Success!\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_unsolved_learner_notebook_still_runs_to_the_end(learner_dir: Path, path: Path, monkeypatch) -> None:
    """With every exercise left empty, only the checks fail: every other cell still runs.

    This is what keeps a learner's wrong answer from breaking the rest of a notebook: the
    later cells use ganlib, not the learner's functions. Executed in smoke mode with
    nbclient's allow_errors, so a failing check does not stop the run.
    """
    from nbclient import NotebookClient

    monkeypatch.setenv("GAN_COURSE_SMOKE", "1")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    nb = nbformat.read(learner_dir / path.name, as_version=4)
    checks = {i + 1 for i, cell in enumerate(nb.cells) if _is_solution(cell)}
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=600,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    failed = {i: out for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"}
    assert set(failed) == checks, (
        f"{path.name}: cells {sorted(set(failed) - checks)} failed although they are not checks: "
        + "; ".join(f"{failed[i].ename}: {failed[i].evalue}" for i in sorted(set(failed) - checks))
    )
    for i in checks:
        assert failed[i].ename == "ExerciseError" and "not implemented yet" in failed[i].evalue, failed[i].evalue
