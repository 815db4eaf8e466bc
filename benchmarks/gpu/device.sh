#!/usr/bin/env bash
# There, on the GPU machine, from the repository root: one step of the GPU plan (README.md here).
#
#   bash benchmarks/gpu/device.sh tests [PYTEST ARGS]   # pytest tests on CUDA (16 cores: -n 8)
#   bash benchmarks/gpu/device.sh course [--smoke] 01,02  # notebooks with default parameters, device=cuda
#   bash benchmarks/gpu/device.sh bench [BENCH ARGS]    # benchmarks/bench.py --device cuda
#   bash benchmarks/gpu/device.sh ttq [BENCH ARGS]      # time to quality only (needs --ttq-cap S)
#   bash benchmarks/gpu/device.sh profile [BENCH ARGS]  # where one step's time goes (benchmarks/profile_step.py)
#   bash benchmarks/gpu/device.sh acgan196 MINUTES      # the course's 196-channel ACGAN, MINUTES of training (6)
#
# Every step first sets up what the image lacks, once per machine: the carried wheels (.whl/)
# into /tmp/site and the carried data (.devdata/*.tar.xz) into /tmp/ganlib-data ($GPU_PLAN_TMP
# instead of /tmp where set); a second call
# on the same warm machine finds them there. Everything goes to $OUT as it comes (log.txt,
# env.txt, then each step's files), so that a call stopped at its limit still returns what it had.
# GPU_PLAN_DEVICE=cpu runs the same steps on a CPU (benchmarks/gpu/emulate.sh rehearses them here).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder whose files come back (the device tool sets it)}"
DEVICE="${GPU_PLAN_DEVICE:-cuda}"
TMP_ROOT="${GPU_PLAN_TMP:-/tmp}"  # where the machine keeps what it set up (tests point it elsewhere)
SITE="$TMP_ROOT/site"
DATA="$TMP_ROOT/ganlib-data"
VENV="$TMP_ROOT/gpu-plan-venv"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1 PYTHONDONTWRITEBYTECODE=1

stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }

setup() {
    if [[ -d .whl ]] && ! cmp -s .whl/python-version "$SITE/.from-python-version" 2>/dev/null; then
        stamp "installing $(ls .whl/*.whl | wc -l) carried wheels into $SITE"
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$SITE" .whl/*.whl || { stamp "wheel install failed"; exit 1; }
        cp .whl/python-version "$SITE/.from-python-version"
    fi
    [[ -d $SITE ]] && export PYTHONPATH="$SITE:$PWD" || export PYTHONPATH="$PWD"
    mkdir -p "$DATA"
    local pack
    for pack in .devdata/*.tar.xz; do
        [[ -e $pack && ! -e "$DATA/.$(basename "$pack").done" ]] || continue
        stamp "unpacking $pack into $DATA"
        tar xJf "$pack" -C "$DATA" && touch "$DATA/.$(basename "$pack").done"
    done
    export GANLIB_DATA="$DATA"
    # run_course.sh runs "$GAN_COURSE_VENV/bin/python": the image's python3 plays the venv. A
    # wrapper, not a link: python3 lives in a venv (/opt/torch/.venv), and called through a link
    # elsewhere it would not find that venv's packages (the kernel would start without torch).
    # Written beside it and moved into place: writing to the name itself would write through a
    # link left there into whatever it points to (a Python binary, say).
    mkdir -p "$VENV/bin"
    printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > "$VENV/bin/python.new"
    chmod +x "$VENV/bin/python.new"
    mv -f "$VENV/bin/python.new" "$VENV/bin/python"
    if [[ ! -s "$OUT/env.txt" ]]; then
        { date -u; nvidia-smi -L 2>/dev/null; nvidia-smi --query-gpu=driver_version,memory.total --format=csv 2>/dev/null
          python3 -c "import sys, torch, torchvision; print(sys.version.split()[0], 'torch', torch.__version__,
          'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, 'gpu', torch.cuda.is_available())"
          nproc; free -g | head -2; ls "$DATA"; } > "$OUT/env.txt" 2>&1
    fi
}

need_data() {  # need_data MNIST cifar10/train ...: stop early, saying which pack to carry
    local path
    for path in "$@"; do
        [[ -d "$DATA/$path" ]] || { stamp "no $path in $DATA: carry its .devdata pack (benchmarks/gpu/README.md)"; exit 3; }
    done
}

step_tests() {
    local parallel=()
    python3 -c "import xdist" 2>/dev/null && parallel=(-n "${WORKERS:-8}")  # the GPU image has pytest-xdist
    stamp "pytest tests on $DEVICE ${parallel[*]}: $*"
    # Not here: the browser tests (no browser), the learner notebooks (nbgrader makes them, which
    # the image lacks, and making them has nothing to do with the device) and the pin check (the
    # image has its own torch: GAN_COURSE_LATEST=1 skips it, as scripts/check_latest.sh does).
    GAN_COURSE_LATEST=1 python3 -m pytest tests --ignore=tests/browser --ignore=tests/test_learner_notebooks.py \
        -q -p no:cacheprovider "${parallel[@]}" --junitxml="$OUT/pytest.xml" "$@"
    stamp "pytest exited $?"
}

step_course() {
    local smoke=() out="$OUT"
    if [[ ${1:-} == --smoke ]]; then
        smoke=(--smoke); out="$TMP_ROOT/gpu-plan-smoke"; shift  # smoke copies stay there: $OUT keeps the real ones
    fi
    [[ ${1:-} == *04* ]] && need_data cifar10/train cifar10/test
    [[ ${1:-} == *05* ]] && need_data cifar10/test  # 05 loads acgan_cifar10 (use_pretrained=True)
    [[ ${1:-} == *0[1235]* ]] && need_data MNIST
    stamp "notebooks ${1:?which notebooks, e.g. 01,02} ${smoke[*]} with device=$DEVICE -> $out"
    GAN_COURSE_VENV="$VENV" GAN_COURSE_NO_SETUP=1 bash scripts/run_course.sh --only "$1" \
        --out "$out" "${smoke[@]}" -p device "$DEVICE"
    stamp "run_course exited $?"
}

step_bench() {
    need_data MNIST cifar10/test  # the ACGAN loops train on the test split: speed only, and it travels lighter
    stamp "bench.py on $DEVICE: $*"
    (cd benchmarks && python3 bench.py --device "$DEVICE" --cifar-split test --out "$OUT/bench.json" \
        --note "benchmarks/gpu/device.sh" "$@")
    stamp "bench exited $?"
}

step_ttq() {
    step_bench --ttq-only "$@"
    python3 benchmarks/plot_time_to_quality.py "$OUT/bench.json" --out "$OUT/time_to_quality.png"
}

step_profile() {
    need_data MNIST cifar10/test
    stamp "profile_step.py on $DEVICE: $*"
    (cd benchmarks && python3 profile_step.py --device "$DEVICE" --cifar-split test --out "$OUT/profile.txt" "$@")
    stamp "profile exited $?"
}

step_acgan196() {
    need_data cifar10/train cifar10/test
    local minutes=${1:?training minutes} run="$TMP_ROOT/acgan196" hours
    hours=$(python3 -c "print($minutes / 60)")
    stamp "ACGAN, width 196, $minutes minutes of training on $DEVICE -> $run"
    # --hours counts training only; evaluations, checkpoints and loading come on top, so the
    # session also ends cleanly after MINUTES + 2 of wall time (--max-minutes): the copies below
    # must run before the call's 10-minute limit. Plan 6 training minutes for one call.
    # The course's architecture and loss (penalty on every critic step), the shipped CPU model's
    # class-head change and mode-seeking term, its EMA and falling rate; the critic starts from
    # the shipped 196-channel classifier, as notebook 04's Part 1 teaches.
    python3 maintainer/train_acgan_cifar10.py --run ACGAN_WGAN_GP_CPU --g-width 196 --d-width 196 --gp-every 1 \
        --mode-seeking 1 --lr-decay-from 0.3 --init-critic pretrained --bf16 auto --fp16 --device "$DEVICE" \
        --hours "$hours" --eval-minutes "${EVAL_MINUTES:-1}" --checkpoint-every 2000 --log-every 200 \
        --filmstrip-hours "$(python3 -c "print(','.join(f'{$hours * f:.4f}' for f in (0.25, 0.5, 1)))")" \
        --max-minutes "$(python3 -c "print($minutes + 2)")" --out "$run" "${@:2}"
    stamp "training exited $?"
    cp "$run/curve.json" "$OUT/" 2>/dev/null
    cp "$run/grids/latest.png" "$OUT/acgan196_grid.png" 2>/dev/null
    cp "$run/acgan_cifar10.pt" "$OUT/acgan196_final.pt" 2>/dev/null
    # The best evaluation's snapshot (class accuracy on 2,000 samples) comes back too: the ship
    # script re-scores it on 10,000 samples here.
    python3 - "$run" "$OUT" <<'PY'
import json, shutil, sys
from pathlib import Path
run, out = Path(sys.argv[1]), Path(sys.argv[2])
points = json.loads((run / "curve.json").read_text())["points"]
if points:
    best = max(points, key=lambda p: p["class_accuracy"])
    shutil.copy(run / "snapshots" / f"step_{best['step']}.pt", out / f"acgan196_step_{best['step']}.pt")
    print("best evaluation:", best)
PY
}

setup
case "${1:-}" in
    tests) shift; step_tests "$@" ;;
    course) shift; step_course "$@" ;;
    bench) shift; step_bench "$@" ;;
    ttq) shift; step_ttq "$@" ;;
    profile) shift; step_profile "$@" ;;
    acgan196) shift; step_acgan196 "$@" ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
