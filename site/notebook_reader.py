"""MyST-NB's notebook reader for the course website: keeps JupyterLab's folded cells folded.

JupyterLab stores a collapsed cell as ``"jupyter": {"source_hidden": true}`` (and
``outputs_hidden`` for collapsed outputs) in the cell's metadata; MyST-NB folds cells by
their ``hide-input`` / ``hide-output`` tags. This reader adds those tags in memory; the
notebook files are not changed.
"""

from __future__ import annotations

import nbformat

FOLD_TAGS = {"source_hidden": "hide-input", "outputs_hidden": "hide-output"}


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Parse a notebook and tag its collapsed cells for MyST-NB.

    Args:
        text: the ``.ipynb`` file's JSON text.

    Returns:
        The notebook (nbformat 4), each cell collapsed in JupyterLab carrying the matching
        ``hide-input`` / ``hide-output`` tag.
    """
    notebook = nbformat.reads(text, as_version=4)
    for cell in notebook.cells:
        folded = cell.get("metadata", {}).get("jupyter", {})
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        for key, tag in FOLD_TAGS.items():
            if folded.get(key) and tag not in tags:
                tags.append(tag)
    return notebook
