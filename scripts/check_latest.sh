#!/usr/bin/env bash
# Scheduled check: does the course still work with other releases of its packages than the pins?
#
#   bash scripts/check_latest.sh                        # the newest releases of every package
#   bash scripts/check_latest.sh --torch 2.11.0 0.26.0  # the pins, with this torch and torchvision
#
# Builds a separate venv (runs/latest/venv, or runs/torch-VERSION/venv with --torch; never
# .venv): with the newest versions that pip allows for every package named in requirements.txt
# (pins dropped; a machine-wide pip cap, such as /etc/xdg/pip on the course's build machines,
# still applies), or with the pins and another torch (e.g. the GPU machine's), then runs the
# unit tests and every notebook in smoke mode against it. Not part of CI: a failure here is a
# warning that a future pin bump (or that torch) needs work, not a broken course. The date, the
# versions and the outcome go to result.txt beside the venv, for the README's record.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LATEST="$ROOT/runs/latest"
torch_pins=()
if [[ ${1:-} == --torch ]]; then
    [[ $# -eq 3 ]] || { echo "check_latest: --torch needs two versions: torch and torchvision" >&2; exit 2; }
    torch_pins=("torch==$2" "torchvision==$3")
    LATEST="$ROOT/runs/torch-$2"
fi
VENV="$LATEST/venv"
PYTHON="${PYTHON:-python3}"
mkdir -p "$LATEST"

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" || exit 1
pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
if [[ ${#torch_pins[@]} -gt 0 ]]; then
    echo "check_latest: the pins with ${torch_pins[*]} in $VENV"
    "${pip[@]}" install --quiet -r <(grep -vE '^(torch|torchvision)==' "$ROOT/requirements.txt") "${torch_pins[@]}" \
        || exit 1
else
    names=($(grep -E '^[A-Za-z0-9_.-]+==' "$ROOT/requirements.txt" | sed 's/==.*//'))
    echo "check_latest: upgrading ${#names[@]} packages to their newest allowed releases in $VENV"
    "${pip[@]}" install --quiet --upgrade "${names[@]}" || exit 1
fi
"${pip[@]}" install --quiet --no-deps -e "$ROOT" || exit 1
"${pip[@]}" freeze --exclude-editable > "$LATEST/versions.txt"
echo "check_latest: versions in $LATEST/versions.txt; different from the pins:"
"$VENV/bin/python" - "$ROOT/requirements.txt" "$LATEST/versions.txt" <<'PY'
import re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
read = lambda p: {norm(a): b for a, b in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", open(p).read(), re.M)}
pins, now = read(sys.argv[1]), read(sys.argv[2])
for name, pin in pins.items():
    if now.get(name, pin).split("+")[0] != pin:
        print(f"  {name}: {pin} -> {now[name]}")
PY

export GAN_COURSE_LATEST=1 GAN_COURSE_SMOKE=1 TQDM_DISABLE=1
status=0
( cd "$ROOT" && "$VENV/bin/python" -m pytest tests --ignore=tests/browser -q -p no:cacheprovider ) || status=1
GAN_COURSE_VENV="$VENV" GAN_COURSE_NO_SETUP=1 bash "$ROOT/scripts/run_course.sh" --smoke --out "$LATEST/course" || status=1
if [[ $status -eq 0 ]]; then
    outcome="the course works with ${torch_pins[*]:-the newest releases}"
    echo "check_latest: $outcome"
else
    outcome="FAILED with ${torch_pins[*]:-the newest releases} (the pinned setup is unaffected)"
    echo "check_latest: $outcome" >&2
fi
{ echo "date: $(date -u +%Y-%m-%d)"; echo "python: $("$VENV/bin/python" --version 2>&1)"
  echo "torch: $("$VENV/bin/python" -c 'import torch, torchvision; print(torch.__version__, "torchvision", torchvision.__version__)')"
  echo "result: $outcome"; echo "versions:"; sed 's/^/  /' "$LATEST/versions.txt"; } > "$LATEST/result.txt"
exit $status
