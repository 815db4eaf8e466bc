"""Execute every course notebook in smoke mode with papermill and check it finished.

Smoke mode (``-p smoke True``) trains for a few steps on a small data subset, so the
whole course runs in CPU minutes. The kernel is ``python3``; jupyter_client starts it
with the interpreter running these tests (the venv's), whose kernelspec says "python".
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks in notebooks/ yet")
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_smoke_mode(notebook: Path, tmp_path: Path, monkeypatch) -> None:
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("GAN_COURSE_SMOKE", "1")
    output = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters={"smoke": True},
        kernel_name="python3",
        cwd=str(NOTEBOOK_DIR),  # relative paths in a notebook mean what they mean in JupyterLab
        progress_bar=False,
    )
    text = output.read_text(encoding="utf-8")
    assert '"ename"' not in text, f"{notebook.name} raised an error; see {output}"
    if "Success!" in notebook.read_text(encoding="utf-8"):
        assert "Success!" in text, f"{notebook.name}: no self-check printed Success!"
