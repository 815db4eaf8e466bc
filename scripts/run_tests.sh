#!/usr/bin/env bash
# Run every test of the course: lint, unit tests, notebook executions, browser tests, nbval.
#
#   bash scripts/run_tests.sh                 # everything
#   bash scripts/run_tests.sh -k checkpoint   # extra arguments go to the `pytest tests` run
#
# Sets up .venv first (scripts/setup_env.sh), installs the browser for the JupyterLab test
# (scripts/install_browser.sh), then runs `ruff check` (settings in pyproject.toml), builds the
# course website (scripts/build_site.sh), runs `pytest tests` and `pytest --nbval-lax notebooks/`
# in smoke mode (GAN_COURSE_SMOKE=1: tiny data, few steps). The exit status is non-zero when
# any step fails; the last line sums up the tests.
# Environment: GAN_COURSE_VENV (venv to use), GAN_COURSE_NO_SETUP=1 (skip setup and browser).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
cd "$ROOT"

if [[ "${GAN_COURSE_NO_SETUP:-0}" != 1 ]]; then
    bash scripts/setup_env.sh || exit 1
fi

problems=()
if [[ "${GAN_COURSE_NO_SETUP:-0}" != 1 && -f scripts/install_browser.sh ]]; then
    echo "run_tests: installing the browser for the JupyterLab test"
    PATH="$VENV/bin:$PATH" bash scripts/install_browser.sh || problems+=("browser install failed")
fi

export GAN_COURSE_SMOKE=1 TQDM_DISABLE=1 PYTHONDONTWRITEBYTECODE=1
report_dir="$(mktemp -d)"
trap 'rm -rf "$report_dir"' EXIT

echo "run_tests: ruff check (lint; settings in pyproject.toml)"
"$VENV/bin/python" -m ruff check "$ROOT" || problems+=("ruff check found lint errors (see above; 'ruff check --fix' fixes some)")

start=$SECONDS
echo "run_tests: building the course website (scripts/build_site.sh: broken links or missing figures fail)"
GAN_COURSE_VENV="$VENV" bash scripts/build_site.sh || problems+=("the course website did not build cleanly (scripts/build_site.sh)")
site_seconds=$((SECONDS - start))

start=$SECONDS
echo "run_tests: pytest tests (unit, notebook and browser tests)"
"$VENV/bin/python" -m pytest tests --junitxml="$report_dir/tests.xml" "$@"
status=$?
[[ $status -ne 0 ]] && problems+=("pytest tests exited $status")
tests_seconds=$((SECONDS - start))

start=$SECONDS
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [[ ${#notebooks[@]} -gt 0 ]]; then
    nbval_args=(--nbval-lax --nbval-current-env -p no:cacheprovider)
    [[ -f tests/nbval_sanitize.cfg ]] && nbval_args+=(--nbval-sanitize-with tests/nbval_sanitize.cfg)
    echo "run_tests: pytest --nbval-lax notebooks/ (runs every cell, compares the checked outputs)"
    "$VENV/bin/python" -m pytest "${nbval_args[@]}" notebooks/ --junitxml="$report_dir/nbval.xml"
    status=$?
    [[ $status -ne 0 ]] && problems+=("pytest --nbval-lax notebooks/ exited $status")
else
    problems+=("no notebooks in notebooks/")
fi
nbval_seconds=$((SECONDS - start))

# One summary line over both runs, from their JUnit reports.
summary="$("$VENV/bin/python" - "$report_dir" <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
counts = dict(tests=0, failures=0, errors=0, skipped=0)
for report in pathlib.Path(sys.argv[1]).glob("*.xml"):
    root = ET.parse(report).getroot()
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
failed = counts["failures"] + counts["errors"]
passed = counts["tests"] - failed - counts["skipped"]
print(f"{passed} passed, {failed} failed, {counts['skipped']} skipped")
PY
)"
echo
echo "run_tests: site build took ${site_seconds} s, pytest tests took ${tests_seconds} s, nbval took ${nbval_seconds} s"
if [[ ${#problems[@]} -gt 0 ]]; then
    printf 'run_tests: problem: %s\n' "${problems[@]}"
    echo "summary: $summary"
    exit 1
fi
echo "summary: $summary"
