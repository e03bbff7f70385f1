#!/usr/bin/env bash
# stall_test.sh TEST_BINARY
# The watchdog ends a process whose NCCL operation passes the timeout: the binary's --stall-test blocks the
# backend's stream for 30 s with a 1 s timeout. Passes when the process exits non-zero within 15 s with a line
# naming the operation, the group and the rank; exits 77 (skipped) where the binary finds no GPU.
set -u
binary=$1
start=$(date +%s)
out=$(timeout 60 "$binary" --stall-test 2>&1)
rc=$?
elapsed=$(($(date +%s) - start))
if [ "$rc" = 77 ]; then
  printf '%s\n' "$out"
  exit 77
fi
fail() {
  printf 'FAIL: %s\n--- output ---\n%s\n' "$1" "$out"
  exit 1
}
[ "$rc" = 0 ] && fail "the process exited 0: the stalled all-reduce was not reported"
[ "$rc" = 124 ] && fail "the process was still running after 60 s"
grep -Eq "rank 0: all_reduce #1 on group 'stall' \(world ranks 0\) timed out after 1 s" <<<"$out" ||
  fail "no line naming the rank, the operation and the group"
[ "$elapsed" -lt 15 ] || fail "the process took ${elapsed} s to end (the stall lasts 30 s, the timeout 1 s)"
printf '%s\nended with exit code %s after %s s\n' "$out" "$rc" "$elapsed"
