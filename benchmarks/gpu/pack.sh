#!/usr/bin/env bash
# Here, before GPU calls: pack what the GPU machine lacks into the ignored folders that a call's
# `carry` names, and check that each call of the plan fits the 64 MiB a call may send.
#
#   bash benchmarks/gpu/pack.sh                         # .devdata/*.tar.xz and .whl/ (Python 3.12)
#   bash benchmarks/gpu/pack.sh --sizes                 # only the table of what each call sends
#   PYTHON_VERSION=3.11 bash benchmarks/gpu/pack.sh     # wheels for a CPU rehearsal (emulate.sh)
#
# A call sends the tracked files of the checkout plus the paths it carries (the device tool's
# README, "Limits"); the table below is the plan of benchmarks/gpu/README.md. The data packs are
# xz (the MNIST IDX files shrink to 9 MB, the CIFAR-10 JPEG tree to 15 + 3 MB); gzip would not fit.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${GANLIB_DATA:-../shared/data}"
PYTHON_VERSION="${PYTHON_VERSION:-3.12}"
LIMIT=$((64 * 1024 * 1024))

# call name, then the paths its `carry` names: the rows of README.md's table of sessions, in order
CALLS=(
    "tests .whl .devdata/mnist.tar.xz .devdata/cifar10_test.tar.xz"
    "course-01-02 .whl .devdata/mnist.tar.xz"
    "course-04 .whl .devdata/cifar10_train.tar.xz .devdata/cifar10_test.tar.xz"
    "course-05 .whl .devdata/mnist.tar.xz .devdata/cifar10_test.tar.xz"
    "course-03 .whl .devdata/mnist.tar.xz"
    "profile .devdata/mnist.tar.xz .devdata/cifar10_test.tar.xz"
    "bench-ttq .devdata/mnist.tar.xz .devdata/cifar10_test.tar.xz"
    "acgan196 .devdata/cifar10_train.tar.xz .devdata/cifar10_test.tar.xz"
)

pack_data() {
    mkdir -p .devdata
    [[ -d "$DATA/MNIST/raw" && -d "$DATA/cifar10/train" ]] || {
        echo "pack: no MNIST/raw and cifar10/ under $DATA (set GANLIB_DATA)" >&2; exit 1; }
    local name src
    for name in mnist:MNIST cifar10_train:cifar10/train cifar10_test:cifar10/test; do
        src=${name#*:}; name=${name%%:*}
        if [[ ! -s .devdata/$name.tar.xz ]]; then
            echo "pack: .devdata/$name.tar.xz <- $DATA/$src (xz -9, a minute or two)"
            tar cf - -C "$DATA" "$src" | xz -9 -T2 > ".devdata/$name.tar.xz.tmp"
            mv ".devdata/$name.tar.xz.tmp" ".devdata/$name.tar.xz"
        fi
    done
}

pack_wheels() {
    local want
    want=$(grep -E '^[A-Za-z0-9_.-]+==' benchmarks/gpu/wheels.txt)
    if [[ -f .whl/python-version && "$(cat .whl/python-version)" != "$PYTHON_VERSION" ]]; then
        rm -rf .whl  # wheels of another Python: binary ones would not install
    fi
    mkdir -p .whl
    echo "pack: .whl/ <- $(echo "$want" | wc -l) wheels for Python $PYTHON_VERSION (benchmarks/gpu/wheels.txt)"
    # The machine-wide pip cap (/etc/xdg/pip) is for this machine's torch; it has no say here.
    PIP_CONFIG_FILE=/dev/null python3 -m pip download --quiet --no-deps --only-binary=:all: \
        --python-version "$PYTHON_VERSION" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_26_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 \
        -d .whl $want
    echo "$PYTHON_VERSION" > .whl/python-version
}

sizes() {
    local tracked call path bytes status
    # what the device tool sends besides the carried paths: tracked files and untracked ones git does not ignore
    tracked=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null \
        | awk '{s += $1} END {print s}')
    printf '%-13s %6s  %s\n' call MiB carries
    for call in "${CALLS[@]}"; do
        set -- $call
        local name=$1; shift
        bytes=$tracked
        for path in "$@"; do
            [[ -e $path ]] || { echo "pack: $path missing: run pack.sh without --sizes first" >&2; return 1; }
            bytes=$((bytes + $(du -sb "$path" | cut -f1)))
        done
        status=""
        (( bytes > LIMIT )) && status="  OVER THE 64 MiB LIMIT"
        printf '%-13s %6.1f  %s%s\n' "$name" "$(echo "$bytes / 1048576" | bc -l)" "$*" "$status"
    done
    printf '(the working tree alone: %.1f MiB)\n' "$(echo "$tracked / 1048576" | bc -l)"
}

if [[ "${1:-}" != --sizes ]]; then
    pack_data
    pack_wheels
fi
sizes
