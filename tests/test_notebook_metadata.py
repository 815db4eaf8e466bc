"""Notebooks carry their outputs but no per-run metadata, so a re-execution only shows real changes.

scripts/clean_notebooks.py removes timestamps, durations and papermill's records (and
scripts/run_course.sh runs it on every notebook it writes); these tests check the tool and that
every notebook in notebooks/ has been through it.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load_tool():
    spec = importlib.util.spec_from_file_location("clean_notebooks", ROOT / "scripts" / "clean_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


clean = _load_tool()


def executed_notebook() -> dict:
    """A small notebook as papermill leaves it: per-run records beside what must stay."""
    stamp = "2026-11-24T01:03:55.634621Z"
    run = {"duration": 0.02, "end_time": stamp, "exception": False, "start_time": stamp, "status": "completed"}
    kernel = {"iopub.execute_input": stamp, "iopub.status.busy": stamp, "iopub.status.idle": stamp,
              "shell.execute_reply": stamp}
    grader = {"grade": False, "grade_id": "ex1", "locked": False, "schema_version": 3, "solution": True,
              "task": False}
    return {
        "cells": [
            {"cell_type": "code", "execution_count": 1, "id": "a", "source": "smoke = False",
             "metadata": {"tags": ["parameters"], "papermill": dict(run), "execution": dict(kernel)},
             "outputs": []},
            {"cell_type": "code", "execution_count": 2, "id": "b", "source": "print(1)",
             "metadata": {"jupyter": {"source_hidden": True}, "nbgrader": grader, "papermill": dict(run),
                          "execution": dict(kernel)},
             "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\n"]}]},
            {"cell_type": "markdown", "id": "c", "source": "# Title", "metadata": {"papermill": dict(run)}},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "papermill": {"duration": 1.5, "start_time": stamp, "parameters": {"smoke": True}},
                     "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_strip_removes_per_run_records_and_keeps_the_rest():
    notebook = executed_notebook()
    expected = copy.deepcopy(notebook)
    del expected["metadata"]["papermill"]
    for cell in expected["cells"]:
        cell["metadata"].pop("papermill")
        cell["metadata"].pop("execution", None)
    removed = clean.strip_per_run_metadata(notebook)
    assert removed[0] == "metadata.papermill" and "cells[1].metadata.execution" in removed and len(removed) == 6
    assert notebook == expected  # tags, jupyter.source_hidden, nbgrader, widgets, outputs, counts untouched
    assert clean.per_run_records(notebook) == []


def test_command_line_strips_in_place_and_check_reports(tmp_path, capsys):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(executed_notebook()))
    assert clean.main(["--check", str(path)]) == 1
    assert "has 6 per-run record(s)" in capsys.readouterr().out
    assert clean.per_run_records(json.loads(path.read_text())) != []  # --check changes nothing
    assert clean.main([str(path)]) == 0
    written = path.read_text()
    assert clean.per_run_records(json.loads(written)) == []
    assert clean.main(["--check", str(path)]) == 0
    clean.main([str(path)])
    assert path.read_text() == written  # a clean notebook is left byte for byte as it is


def test_command_line_names_a_bad_file(tmp_path, capsys):
    assert clean.main([str(tmp_path / "missing.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert clean.main([str(bad)]) == 2
    assert "not valid notebook JSON" in capsys.readouterr().err


def test_the_writer_keeps_jupyters_format(tmp_path):
    """The tool writes a notebook byte for byte as nbformat (Jupyter, papermill) does, so that
    stripping a notebook shows only the removed records in its diff."""
    nbformat = pytest.importorskip("nbformat")
    notebook = executed_notebook()
    notebook["cells"][1]["source"] = "print('é → ü')"  # non-ASCII stays as it is, unescaped
    nbformat.write(nbformat.from_dict(notebook), tmp_path / "nbformat.ipynb")
    clean.write_notebook(clean.read_notebook(tmp_path / "nbformat.ipynb"), tmp_path / "ours.ipynb")
    assert (tmp_path / "ours.ipynb").read_bytes() == (tmp_path / "nbformat.ipynb").read_bytes()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebooks_carry_no_per_run_metadata(path):
    records = clean.per_run_records(json.loads(path.read_text(encoding="utf-8")))
    assert not records, (
        f"{path.name} carries {len(records)} per-run record(s) (e.g. {records[:3]}); "
        f"run 'python scripts/clean_notebooks.py notebooks/{path.name}' (run_course.sh does it for its copies)"
    )


def test_run_course_strips_what_it_writes():
    script = (ROOT / "scripts" / "run_course.sh").read_text()
    assert "scripts/clean_notebooks.py" in script and "--in-place" in script


def test_run_course_only_runs_the_chosen_notebooks(tmp_path):
    # A stand-in venv whose python copies each notebook papermill would execute (and cleans nothing):
    # what lands in --out is what run_course.sh chose to run.
    import subprocess

    fake = tmp_path / "venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/usr/bin/env bash\n[[ "$1 $2" == "-m papermill" ]] && cp "$3" "$4"\nexit 0\n')
    fake.chmod(0o755)
    env = {**os.environ, "GAN_COURSE_VENV": str(tmp_path / "venv"), "GAN_COURSE_NO_SETUP": "1"}
    run = lambda *args: subprocess.run(["bash", str(ROOT / "scripts" / "run_course.sh"), *args],  # noqa: E731
                                       capture_output=True, text=True, env=env)
    done = run("--only", "02,04", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name[:2] for p in (tmp_path / "out").glob("*.ipynb")) == ["02", "04"]
    refused = run("--only", "09", "--out", str(tmp_path / "none"))
    assert refused.returncode == 2 and "no notebook in notebooks/ starts with '09'" in refused.stderr
