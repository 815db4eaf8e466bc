#!/usr/bin/env bash
# Create (or update) the course's virtual environment and install the pinned packages.
#
#   bash scripts/setup_env.sh           # create .venv if missing, install what changed
#   bash scripts/setup_env.sh --force   # reinstall even if nothing changed
#
# Everything goes into one folder, .venv in the repository (or $GAN_COURSE_VENV): nothing is
# installed globally and no Jupyter kernel is registered for the user. A stamp file in the
# venv holds a hash of requirements.txt, pyproject.toml and the Python version, so a second
# run with nothing changed takes about a second. Needs Python 3.10+ (3.11 is what the pins
# are tested with), pip and venv; the only network access is to the package registry.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.gan-course-setup-stamp"
FORCE=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) echo "setup_env.sh: unknown argument '$arg' (try --force or --help)" >&2; exit 2 ;;
    esac
done

if [[ ! -x "$VENV/bin/python" ]]; then
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        echo "setup_env.sh: '$PYTHON' not found. Install Python 3.11 (or set PYTHON=/path/to/python3)." >&2
        exit 1
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        echo "setup_env.sh: $("$PYTHON" --version 2>&1) is too old; the course needs Python 3.10+ (3.11 tested)." >&2
        exit 1
    fi
    echo "setup: creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

# The hash covers everything that decides what gets installed.
fingerprint="$(
    { cat "$ROOT/requirements.txt" "$ROOT/pyproject.toml"; "$VENV/bin/python" --version 2>&1; } \
        | "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
)"
if [[ "$FORCE" == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$fingerprint" ]]; then
    echo "setup: $VENV is up to date (requirements.txt and pyproject.toml unchanged)"
    exit 0
fi

start=$SECONDS
pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
echo "setup: installing the pinned packages into $VENV (the first time takes a few minutes: torch is large)"
"${pip[@]}" install --quiet -r "$ROOT/requirements.txt"
echo "setup: installing ganlib (editable) from $ROOT"
"${pip[@]}" install --quiet --no-deps -e "$ROOT"
# Fail here, not in the middle of a notebook, if the pins do not fit together.
"${pip[@]}" check >/dev/null || { "${pip[@]}" check; echo "setup: pip check failed" >&2; exit 1; }
"$VENV/bin/python" -c 'import ganlib, torch, torchvision' \
    || { echo "setup: the installed packages do not import; run 'bash scripts/setup_env.sh --force'" >&2; exit 1; }
echo "$fingerprint" > "$STAMP"
echo "setup: done in $((SECONDS - start)) s; activate with 'source ${VENV#"$ROOT"/}/bin/activate'"
