#!/usr/bin/env bash
# One command for a CUDA machine: the no-sync and compile tests, then the GPU benchmark.
# Writes benchmarks/results_gpu.json and benchmarks/results_gpu.md (the CPU figures stay in results.json), and
# plots the time-to-quality curves to images/time_to_quality.png.
# Data: $GANLIB_DATA, else ../shared/data, else .devdata/{mnist,cifar10}.tgz unpacked to /tmp/ganlib-data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if [ -z "${GANLIB_DATA:-}" ]; then
  if [ -d ../shared/data/MNIST ]; then
    export GANLIB_DATA="$(cd ../shared/data && pwd)"
  elif [ -f .devdata/mnist.tgz ]; then
    mkdir -p /tmp/ganlib-data
    tar xzf .devdata/mnist.tgz -C /tmp/ganlib-data
    [ -f .devdata/cifar10.tgz ] && tar xzf .devdata/cifar10.tgz -C /tmp/ganlib-data
    export GANLIB_DATA=/tmp/ganlib-data
  fi
fi
"$PY" -c "import ganlib" 2>/dev/null || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PY" -m pytest -q -p no:cacheprovider tests/test_bench.py -k "no_host_sync or compiled or ema"
"$PY" benchmarks/bench.py --device cuda --ttq-cap "${TTQ_CAP:-300}" --compile "${COMPILE_MODE:-reduce-overhead}" \
  --out benchmarks/results_gpu.json --note "run_gpu.sh" "$@"
if [ "${TTQ_CAP:-300}" != "0" ]; then
  "$PY" benchmarks/plot_time_to_quality.py benchmarks/results_gpu.json --out images/time_to_quality.png
fi
