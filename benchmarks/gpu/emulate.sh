#!/usr/bin/env bash
# Here, on the CPU: rehearse a call of the GPU plan the way the device tool runs it, before
# spending GPU minutes on it: a copy of the tracked files plus the carried paths, a Python
# without Jupyter (like the GPU machine's image), $OUT an empty folder, device=cpu.
#
#   EMULATE_PYTHON=/tmp/venv-torch-2.11/bin/python \
#       bash benchmarks/gpu/emulate.sh [--cold] ".whl .devdata/mnist.tar.xz" 'bash benchmarks/gpu/device.sh ...'
#
# --cold first removes /tmp/site and /tmp/ganlib-data (a fresh machine); without it they stay
# from the last rehearsal, as on a machine still warm from the call before. The copy is in
# $EMULATE_DIR (default /tmp/gpu-emulate)/repo, the returned files in .../out.
# Wheels for the rehearsal must match its Python: PYTHON_VERSION=3.11 bash benchmarks/gpu/pack.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${EMULATE_DIR:-/tmp/gpu-emulate}"
PY="${EMULATE_PYTHON:?a Python with torch and torchvision but no Jupyter packages, like the GPU image}"
if [[ ${1:-} == --cold ]]; then
    rm -rf /tmp/site /tmp/ganlib-data
    shift
fi
carry="${1:?the paths the call carries, in one argument}"
command="${2:?the command, in one argument}"

rm -rf "$WORK/repo" "$WORK/out"
mkdir -p "$WORK/repo" "$WORK/out"
# as the device tool sends: tracked files and the untracked ones git does not ignore
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - 2>/dev/null) | tar xf - -C "$WORK/repo"
for path in $carry; do
    mkdir -p "$WORK/repo/$(dirname "$path")"
    cp -r "$ROOT/$path" "$WORK/repo/$path"
done
echo "emulate: $(du -sm "$WORK/repo" | cut -f1) MiB sent; running: $command"
cd "$WORK/repo"
start=$SECONDS
status=0
PATH="$(dirname "$PY"):$PATH" OUT="$WORK/out" GPU_PLAN_DEVICE="${GPU_PLAN_DEVICE:-cpu}" bash -c "$command" || status=$?
echo "emulate: exit $status after $((SECONDS - start)) s; returned files:"
ls -la "$WORK/out"
exit $status
