#!/usr/bin/env bash
# The stall scenario: 3 ranks all-reduce in a loop on group 'tensor' with a 3 s timeout; rank 1 stops itself
# (SIGSTOP) just before its 5th all-reduce. The others must name rank 1, all_reduce #5 and the group, and the
# job must end non-zero within the timeout + 10 s (+ a startup margin), never hang.
#
#   stall_test.sh <mpiexec> <mtnlg_comm_mpi_tests> [extra test-binary arguments]
set -u
mpiexec=$1
binary=$2
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT

start=$(date +%s.%N)
timeout -k 5 40 "$mpiexec" --allow-run-as-root --oversubscribe -np 3 "$binary" --stall-test "$@" >"$log" 2>&1
code=$?
end=$(date +%s.%N)
elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

cat "$log"
echo "--- stall test: exit code $code after $elapsed s"
failed=0
if [ "$code" -eq 0 ]; then
  echo "FAIL: the job exited 0; it should have been aborted"
  failed=1
elif [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
  echo "FAIL: the job hung until the 40 s guard"
  failed=1
fi
if ! awk -v e="$elapsed" 'BEGIN { exit !(e < 20) }'; then
  echo "FAIL: took $elapsed s, expected < 20 s (3 s timeout + 2 s status window + startup)"
  failed=1
fi
pattern="rank [02]: all_reduce #5 on group 'tensor' \(world ranks 0,1,2\) timed out after 3 s; rank 1 did not respond"
if ! grep -Eq "$pattern" "$log"; then
  echo "FAIL: no line matching: $pattern"
  failed=1
fi
exit $failed
