#!/usr/bin/env bash
# stalled_rank.sh MPIEXEC MTNLG RECIPE WORK
# World rank 1 of a 2-stage pipeline stops (SIGSTOP, the MTNLG_PLANT_BUG=stop-rank-1 hook) before step 2, as a
# hung process would. The job must end non-zero within parallel.timeout (3 s) + 10 s, with rank 0 naming rank 1,
# the operation it was waiting in and its sequence number — not hang.
set -uo pipefail
mpiexec=$1 mtnlg=$2 recipe=$3 work=$4
start=$(date +%s)
out=$(MTNLG_PLANT_BUG=stop-rank-1 timeout 60 "$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$mtnlg" train \
  "$recipe" --set parallel.pipeline=2 --set parallel.timeout=3 --run-dir "$work/stalled" 2>&1)
code=$?
elapsed=$(( $(date +%s) - start ))
echo "$out" | grep -v '^\[' | head -5
echo "exit code $code after ${elapsed} s"
[ "$code" != 0 ] || { echo "FAIL: the job exited 0"; exit 1; }
[ "$code" != 124 ] || { echo "FAIL: the job hung until the test's own 60 s guard"; exit 1; }
# Startup of two ranks on a busy 2-core machine takes a few seconds: allow it on top of timeout + 10 s.
[ "$elapsed" -le 20 ] || { echo "FAIL: took ${elapsed} s, more than the 3 s timeout + 10 s (+ startup)"; exit 1; }
grep -Eq "rank 0: (recv|send|all_reduce|all_gather|reduce_scatter|broadcast) #[0-9]+ .*timed out after 3 s.*rank 1 did not respond" <<<"$out" ||
  { echo "FAIL: no message naming the operation, its sequence number and the stalled rank 1"; exit 1; }
echo "ok: the stalled rank was named and the job ended"
