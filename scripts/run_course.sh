#!/usr/bin/env bash
# Execute every notebook of the course, in order, into runs/course/.
#
#   bash scripts/run_course.sh                   # real settings (a GPU helps; see README)
#   bash scripts/run_course.sh --smoke           # tiny data, few steps: a few CPU minutes
#   bash scripts/run_course.sh -p device cpu     # anything else goes to papermill
#
# Sets up .venv first (scripts/setup_env.sh; fast when nothing changed). Each notebook runs
# with papermill in the notebooks/ folder, as JupyterLab would run it; the executed copies
# land in runs/course/ (or --out DIR). Exits non-zero if any notebook failed.
# Environment: GAN_COURSE_VENV (venv to use), GAN_COURSE_NO_SETUP=1 (skip the setup step).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
OUT="$ROOT/runs/course"
extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) extra+=(-p smoke True) ;;
        --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) extra+=("$1") ;;
    esac
    shift
done

if [[ "${GAN_COURSE_NO_SETUP:-0}" != 1 ]]; then
    bash "$ROOT/scripts/setup_env.sh" || exit 1
fi

shopt -s nullglob
notebooks=("$ROOT"/notebooks/[0-9][0-9]_*.ipynb)
if [[ ${#notebooks[@]} -eq 0 ]]; then
    echo "run_course: no notebooks found in $ROOT/notebooks" >&2
    exit 1
fi
mkdir -p "$OUT"

failed=0
report=()
total_start=$SECONDS
for nb in "${notebooks[@]}"; do
    name="$(basename "$nb")"
    echo "run_course: $name ..."
    start=$SECONDS
    if "$VENV/bin/python" -m papermill "$nb" "$OUT/$name" -k python3 --cwd "$ROOT/notebooks" \
        --no-progress-bar "${extra[@]}"; then
        status=ok
    else
        status=FAILED
        failed=$((failed + 1))
    fi
    report+=("$(printf '  %-40s %-6s %5d s' "$name" "$status" $((SECONDS - start)))")
done

echo
echo "run_course: executed notebooks are in ${OUT}/"
printf '%s\n' "${report[@]}"
printf '  %-40s %-6s %5d s\n' "total" "" $((SECONDS - total_start))
if [[ $failed -gt 0 ]]; then
    echo "run_course: $failed notebook(s) failed; open the copy in $OUT to see the failing cell" >&2
    exit 1
fi
