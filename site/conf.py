"""Sphinx configuration of the course website (built by ``bash scripts/build_site.sh``).

The site is made from the committed notebooks as they are, outputs included: MyST-NB reads
them and never executes a cell. ``scripts/build_site.sh`` lays out the source folder
(``site/_build/src``: links to ``notebooks/``, ``images/``, ``README.md`` and this folder's
``index.md``) and puts a local MathJax copy next to it, so that the built pages show their
equations without any network access.
"""

from __future__ import annotations

import sys
from pathlib import Path

SITE = Path(__file__).resolve().parent
sys.path.insert(0, str(SITE))  # notebook_reader.py

project = "Hands-on GANs"
author = "the course's authors"
copyright = "the course's authors"

extensions = ["myst_nb"]
root_doc = "index"
# The pages: the landing page, the notebooks and every Markdown document of the repository (the
# README links to docs/ and the licence texts); other files are reachable as link targets only.
include_patterns = ["index.md", "notebooks/*.ipynb", "**.md"]
exclude_patterns = ["**/.ipynb_checkpoints"]

# --- notebooks: shown as committed, never run ---------------------------------------------
nb_execution_mode = "off"
# Cells that JupyterLab shows collapsed (metadata jupyter.source_hidden) get MyST-NB's
# hide-input tag: the worked answers stay folded on the site as in JupyterLab.
nb_custom_formats = {".ipynb": ["notebook_reader.read_notebook", {}, False]}
nb_code_prompt_show = "Show the worked answer"
nb_code_prompt_hide = "Hide the worked answer"
# No widget state is saved with the notebooks (papermill does not keep it), so the widget
# manager would only load scripts from a CDN to show nothing: leave it out; each widget cell
# has a static picture next to it.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True

# --- Markdown ---------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # README.md#set-up and the like resolve to headings
# The Markdown documents are written for GitHub, where an H1 followed by an H3 is fine; and a
# document outside the sidebar (site/index.md's toctrees) is still a page that links reach.
suppress_warnings = ["myst.header", "toc.not_included"]

# --- maths without network: a local MathJax 3 (scripts/build_site.sh provides it) -------------
mathjax_path = "mathjax/tex-svg-full.js"
html_static_path = ["_static", "_vendor"]  # _vendor/mathjax: filled by scripts/build_site.sh

# --- HTML ---------------------------------------------------------------------------------
html_theme = "furo"
html_title = "Hands-on GANs"
html_css_files = ["course.css"]
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
