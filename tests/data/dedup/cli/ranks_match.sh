#!/usr/bin/env bash
# ranks_match.sh MPIEXEC MTNLG_DATA WORK MIN_GROUPS DEDUP_ARGS...
# Runs `mtnlg-data dedup DEDUP_ARGS` as one process (no mpirun), on 2 ranks, and on 3 ranks with 2 workers
# each, into WORK/np1, WORK/np2, WORK/np3, and passes when the three output directories hold the same files,
# byte for byte, the per-dataset summary lines agree, only rank 0 printed a report (naming the number of
# ranks), and the one-process run found at least MIN_GROUPS duplicate groups (so there was something to get
# wrong).
set -u
mpiexec=$1 data=$2 work=$3 min_groups=$4
shift 4
rm -rf "$work" && mkdir -p "$work"
status=0
fail() {
  printf 'FAIL: %s\n' "$*"
  status=1
}

run() {  # run NAME COMMAND...: output in WORK/NAME.out, outputs in WORK/NAME
  local name=$1
  shift
  if ! timeout 300 "$@" dedup "${dedup_args[@]}" --output-dir "$work/$name" >"$work/$name.out" 2>&1; then
    fail "$name exited with $?"
    cat "$work/$name.out"
  fi
}
dedup_args=("$@")
run np1 "$data"
run np2 "$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$data"
dedup_args=("$@" --workers 2)
run np3 "$mpiexec" --allow-run-as-root --oversubscribe -np 3 "$data"

summary() {  # the per-dataset lines and the totals line, without timings
  grep -E ' documents \(| documents: ' "$work/$1.out"
}
for np in 1 2 3; do
  reports=$(grep -c ' documents: ' "$work/np$np.out")
  [ "$reports" = 1 ] || fail "np$np printed $reports reports, not 1 (only rank 0 reports)"
done
grep -qx '1 rank' "$work/np1.out" || fail "np1 does not say '1 rank'"
grep -q '^2 ranks' "$work/np2.out" || fail "np2 does not say '2 ranks'"
grep -q '^3 ranks' "$work/np3.out" || fail "np3 does not say '3 ranks'"

want=$(cd "$work/np1" && ls -A)
[ -n "$want" ] || fail "np1 wrote nothing"
for np in 2 3; do
  got=$(cd "$work/np$np" && ls -A)
  [ "$got" = "$want" ] || fail "np$np wrote [$got], one process [$want]"
  for f in $want; do
    cmp "$work/np1/$f" "$work/np$np/$f" || fail "np$np/$f differs from the one-process $f"
  done
  [ "$(summary np$np)" = "$(summary np1)" ] || fail "np$np's summary differs: $(summary np$np) / $(summary np1)"
done
groups=$(wc -l <"$work/np1/duplicates.jsonl")
[ "$groups" -ge "$min_groups" ] || fail "one process found $groups duplicate groups, fewer than $min_groups"

if [ "$status" = 0 ]; then
  printf 'outputs identical for 1, 2 and 3 ranks: %s; %s duplicate groups\n' "$(echo $want)" "$groups"
  summary np3
fi
exit "$status"
