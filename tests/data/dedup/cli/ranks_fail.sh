#!/usr/bin/env bash
# ranks_fail.sh MPIEXEC MTNLG_DATA WORK PATTERN DEDUP_ARGS...
# Runs `mtnlg-data dedup DEDUP_ARGS --output-dir WORK/out` as one process, on 2 ranks and on 3 ranks, and
# passes when each run exits with status 1 within the time limit (no hang), reports exactly one error, which
# matches the extended regular expression PATTERN, and leaves neither WORK/out nor a staging directory.
set -u
mpiexec=$1 data=$2 work=$3 pattern=$4
shift 4
status=0
fail() {
  printf 'FAIL: %s\n' "$*"
  status=1
}
for np in 1 2 3; do
  rm -rf "$work" && mkdir -p "$work"
  if [ "$np" = 1 ]; then
    launch=()
  else
    launch=("$mpiexec" --allow-run-as-root --oversubscribe -np "$np")
  fi
  out=$(timeout 120 "${launch[@]}" "$data" dedup "$@" --output-dir "$work/out" 2>&1)
  code=$?
  [ "$code" != 124 ] || fail "$np rank(s): still running after 120 s (hung)"
  [ "$code" = 1 ] || fail "$np rank(s): exit status $code, not 1"
  errors=$(grep -c 'mtnlg-data: error:' <<<"$out")
  [ "$errors" = 1 ] || fail "$np rank(s): $errors error messages, not 1"
  grep -Eq -- "mtnlg-data: error: .*$pattern" <<<"$out" || fail "$np rank(s): no error matching '$pattern'"
  leftovers=$(ls -A "$work")
  [ -z "$leftovers" ] || fail "$np rank(s) left: $leftovers"
  [ "$status" = 0 ] || { printf -- '--- output of %s rank(s) ---\n%s\n' "$np" "$out"; break; }
  printf '%s rank(s): %s\n' "$np" "$(grep 'mtnlg-data: error:' <<<"$out")"
done
exit "$status"
