#!/usr/bin/env bash
# Write the learner's version of the notebooks: the solutions removed by nbgrader.
#
#   bash scripts/make_learner_notebooks.sh            # -> learner/ (git-ignored)
#   bash scripts/make_learner_notebooks.sh OUT_DIR    # -> OUT_DIR
#
# The notebooks in notebooks/ carry the solutions between "### BEGIN SOLUTION" and
# "### END SOLUTION" in cells whose metadata marks them as nbgrader solution cells.
# `nbgrader generate_assignment` (ClearSolutions, ClearOutput, ...) replaces each marked
# block with "# YOUR CODE HERE / raise NotImplementedError()" and clears all outputs.
# nbgrader wants a course folder and a gradebook database; both live in a temporary
# folder, so nothing but OUT_DIR is written. OUT_DIR sits beside notebooks/ by default,
# so relative links such as ../images/... keep working.
# Environment: PYTHON (interpreter with nbgrader; default: the venv's, else python3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(realpath -m "${1:-$ROOT/learner}")"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$VENV/bin/python" ]]; then PYTHON="$VENV/bin/python"; else PYTHON=python3; fi
fi

# nbgrader runs its database migrations through the `alembic` command of its own environment.
PATH="$(dirname "$(command -v "$PYTHON")"):$PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/source/course"
cp "$ROOT"/notebooks/*.ipynb "$work/source/course/"

(cd "$work" && "$PYTHON" -m nbgrader generate_assignment course \
    --CourseDirectory.root="$work" \
    --CourseDirectory.db_url="sqlite:///$work/gradebook.db" \
    --force --log-level=WARN)

mkdir -p "$OUT"
cp "$work"/release/course/*.ipynb "$OUT/"
echo "make_learner_notebooks: wrote $(ls "$work"/release/course/*.ipynb | wc -l) learner notebooks to $OUT"
