#!/usr/bin/env bash
# Execute every notebook of the course, in order, into runs/course/.
#
#   bash scripts/run_course.sh                   # real settings (a GPU helps; see README)
#   bash scripts/run_course.sh --smoke           # tiny data, few steps: a few CPU minutes
#   bash scripts/run_course.sh -p device cpu     # anything else goes to papermill
#   bash scripts/run_course.sh --in-place        # maintainers: re-execute notebooks/*.ipynb themselves
#   bash scripts/run_course.sh --only 01,02      # only the notebooks whose names start so
#
# Sets up .venv first (scripts/setup_env.sh; fast when nothing changed). Each notebook runs
# with papermill in the notebooks/ folder, as JupyterLab would run it; the executed copies
# land in runs/course/ (or --out DIR), stripped of per-run metadata (scripts/clean_notebooks.py:
# timestamps, durations, papermill's records), so a re-run only changes real outputs.
# --in-place then copies each notebook that ran without error back over notebooks/NAME (a failed
# one stays untouched, its copy in the output folder); not with --smoke: committed notebooks keep
# the real settings' outputs. Exits non-zero if any notebook failed.
# Environment: GAN_COURSE_VENV (venv to use), GAN_COURSE_NO_SETUP=1 (skip the setup step).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
OUT="$ROOT/runs/course"
extra=()
smoke=0
in_place=0
only=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --smoke) extra+=(-p smoke True); smoke=1 ;;
        --in-place) in_place=1 ;;
        --out) OUT="$(mkdir -p "$2" && cd "$2" && pwd)"; shift ;;
        --only) only="$2"; shift ;;
        -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) extra+=("$1") ;;
    esac
    shift
done
if [[ $in_place -eq 1 && $smoke -eq 1 ]]; then
    echo "run_course: --in-place with --smoke would commit smoke outputs; drop one (try --smoke --out DIR)" >&2
    exit 2
fi

if [[ "${GAN_COURSE_NO_SETUP:-0}" != 1 ]]; then
    bash "$ROOT/scripts/setup_env.sh" || exit 1
fi

shopt -s nullglob
notebooks=("$ROOT"/notebooks/[0-9][0-9]_*.ipynb)
if [[ -n "$only" ]]; then
    chosen=()
    for prefix in ${only//,/ }; do
        matches=("$ROOT"/notebooks/"$prefix"*.ipynb)
        if [[ ${#matches[@]} -eq 0 ]]; then
            echo "run_course: --only $only: no notebook in notebooks/ starts with '$prefix'" >&2
            exit 2
        fi
        chosen+=("${matches[@]}")
    done
    notebooks=("${chosen[@]}")
fi
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
        --no-progress-bar "${extra[@]}" \
        && "$VENV/bin/python" "$ROOT/scripts/clean_notebooks.py" "$OUT/$name" >/dev/null; then
        status=ok
        if [[ $in_place -eq 1 ]]; then
            cp "$OUT/$name" "$nb" && status=copied || { status=FAILED; failed=$((failed + 1)); }
        fi
    else
        status=FAILED
        failed=$((failed + 1))
    fi
    report+=("$(printf '  %-40s %-6s %5d s' "$name" "$status" $((SECONDS - start)))")
done

echo
echo "run_course: executed notebooks are in ${OUT}/"
[[ $in_place -eq 1 ]] && echo "run_course: those marked 'copied' replaced their notebooks/ original"
printf '%s\n' "${report[@]}"
printf '  %-40s %-6s %5d s\n' "total" "" $((SECONDS - total_start))
if [[ $failed -gt 0 ]]; then
    echo "run_course: $failed notebook(s) failed; open the copy in $OUT to see the failing cell" >&2
    exit 1
fi
