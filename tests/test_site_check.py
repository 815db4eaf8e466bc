"""The course website's own checks: site/check_site.py finds what breaks a page; the notebook
reader folds JupyterLab's collapsed cells. (The build itself: scripts/build_site.sh; the pages
in a browser: tests/browser/test_site.py.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

SITE = Path(__file__).resolve().parents[1] / "site"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"course_site_{name}", SITE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def check_site():
    return _load("check_site").check_site


def _write_site(root: Path, page_body: str, notebook_outputs: int = 1) -> tuple[Path, Path]:
    """A two-page site (index + notebooks/nb.html) and the notebook it was built from."""
    html, notebooks = root / "html", root / "notebooks"
    (html / "notebooks").mkdir(parents=True)
    (html / "_images").mkdir()
    (html / "_images" / "fig.png").write_bytes(PNG)
    (html / "index.html").write_text('<a href="notebooks/nb.html#top">nb</a>')
    (html / "notebooks" / "nb.html").write_text(f'<h1 id="top">nb</h1>{page_body}')
    notebooks.mkdir()
    cell = {"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
            "outputs": [{"output_type": "display_data", "data": {"image/png": ""}, "metadata": {}}] * notebook_outputs}
    (notebooks / "nb.ipynb").write_text(json.dumps({"cells": [cell]}))
    return html, notebooks


def test_a_whole_site_passes(tmp_path: Path, check_site) -> None:
    html, notebooks = _write_site(tmp_path, '<img src="../_images/fig.png"><a href="../index.html">home</a>')
    assert check_site(html, notebooks) == []


@pytest.mark.parametrize(("body", "expected"), [
    ('<img src="../_images/fig.png"><a href="../missing.html">x</a>', "points to a missing file"),
    ('<img src="../_images/fig.png"><a href="../index.html#nowhere">x</a>', "no anchor #nowhere"),
    ('<img src="../_images/gone.png">', "picture ../_images/gone.png is missing"),
    ('<img src="../_images/fig.png"><script src="https://cdn.example/x.js"></script>', "from the network"),
    ('<img src="../_images/fig.png"><link rel="stylesheet" href="//cdn.example/x.css">', "from the network"),
    ('<img src="../_images/fig.png"><span class="math">\\(x\\)</span>', "no local MathJax"),
    ("<p>the figure was lost</p>", "shows 0 pictures, the notebook holds 1"),
])
def test_each_kind_of_breakage_is_reported(tmp_path: Path, check_site, body: str, expected: str) -> None:
    html, notebooks = _write_site(tmp_path, body)
    problems = check_site(html, notebooks)
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_file_that_is_not_a_picture_is_reported(tmp_path: Path, check_site) -> None:
    html, notebooks = _write_site(tmp_path, '<img src="../_images/fig.png">')
    (html / "_images" / "fig.png").write_text("<html>404</html>")
    assert any("is not a PNG" in line for line in check_site(html, notebooks))


def test_an_unbuilt_site_says_how_to_build_it(tmp_path: Path, check_site) -> None:
    problems = check_site(tmp_path, tmp_path)
    assert len(problems) == 1 and "bash scripts/build_site.sh" in problems[0]


def test_collapsed_cells_get_the_fold_tags() -> None:
    read_notebook = _load("notebook_reader").read_notebook
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("answer = 42", metadata={"jupyter": {"source_hidden": True}}),
        nbformat.v4.new_code_cell("print(1)", metadata={"jupyter": {"outputs_hidden": True}, "tags": ["x"]}),
        nbformat.v4.new_code_cell("shown = True"),
    ])
    cells = read_notebook(nbformat.writes(notebook)).cells
    assert [cell.metadata.get("tags", []) for cell in cells] == [["hide-input"], ["x", "hide-output"], []]
