#!/usr/bin/env bash
# run_layout.sh MTNLG COMPARE WORK NAME RANKS COMPARE_ARGS -- MTNLG_ARGS...
# Trains tests/parallel/equivalence.toml on RANKS ranks (mpirun --oversubscribe; RANKS = 0: one process without
# mpirun, the reference) into WORK/NAME, then, unless this is a reference run, compares it with WORK/reference-<dtype>
# using compare_runs and COMPARE_ARGS (a quoted string).
set -euo pipefail
mtnlg=$1 compare=$2 work=$3 name=$4 ranks=$5 compare_args=$6
shift 6
[ "${1:-}" = "--" ] && shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$work"
rm -rf "${work:?}/$name"
if [ "$ranks" = 0 ]; then
  "$mtnlg" train "$here/equivalence.toml" --run-dir "$work/$name" "$@" > "$work/$name.log" 2>&1 || {
    cat "$work/$name.log"; exit 1; }
  echo "reference run: $work/$name"
  exit 0
fi
mpirun --allow-run-as-root --oversubscribe -np "$ranks" "$mtnlg" train "$here/equivalence.toml" --run-dir "$work/$name" "$@" \
  > "$work/$name.log" 2>&1 || { tail -30 "$work/$name.log"; echo "FAIL: the run exited non-zero"; exit 1; }
grep -m1 "training" "$work/$name.log" || true
# shellcheck disable=SC2086
"$compare" $compare_args
