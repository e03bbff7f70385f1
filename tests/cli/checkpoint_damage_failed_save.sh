#!/usr/bin/env bash
# checkpoint_damage_failed_save.sh MTNLG RECIPE MPIEXEC WORK — a save that fails part-way leaves the previous
# checkpoint as it was and the run resumable:
#  - one rank of two cannot write its shard (MTNLG_PLANT_BUG=fail-shard-write:1:2, tensor-parallel 2, so rank
#    1 holds pieces of its own): the save fails on both ranks, the message names the rank and its reason,
#    `latest` still names step 1, no step-2 directory (final or .tmp) is left, and resuming goes on from step 1;
#  - the same on one process (rank 0);
#  - rank 0 cannot publish the checkpoint (RUN_DIR/checkpoints/latest is a directory): the message says so.
set -euo pipefail
mtnlg=$1 recipe=$2 mpiexec=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
# The tiny model with the synthetic task's 256-token vocabulary and no evaluation: each run takes seconds.
small=(--set model.vocab_size=256 --set model.padded_vocab=256 --set train.global_batch=8 --set train.eval_interval=0)
fail() { echo "FAIL: $*"; exit 1; }
mpirun2() { "$mpiexec" --allow-run-as-root --oversubscribe -np 2 -x MTNLG_PLANT_BUG "$@"; }
step_dirs() { (cd "$1/checkpoints" && echo step-*); }

check_failed_save() {  # RUN LOG RANK [any] — the state a failed save of step 2 must leave
  local run=$1 log=$2 rank=$3 reason
  reason="writing .*step-0000002.tmp/rank-0000$rank.bin failed: planted by MTNLG_PLANT_BUG=fail-shard-write:$rank:2"
  # Under mpirun the first rank to abort ends the job: the failing rank's own message (with the reason) may be
  # cut off, and then another rank's, which names the failing rank, is what remains.
  [ "${4:-}" = any ] && reason="($reason|see its log for the reason)"
  grep -Eq "saving the checkpoint of step 2 failed on 1 rank\(s\), rank $rank: $reason" "$log" ||
    { cat "$log"; fail "no message naming rank $rank's failed shard"; }
  [ "$(cat "$run/checkpoints/latest")" = step-0000001 ] || fail "latest is $(cat "$run/checkpoints/latest")"
  [ "$(step_dirs "$run")" = step-0000001 ] || fail "left behind: $(step_dirs "$run")"
  [ ! -e "$run/checkpoints/step-0000002.tmp" ] || fail "the failed save's step-0000002.tmp is still there"
  echo "ok: a failed shard write of rank $rank: $(grep -o "saving the checkpoint of step 2 failed on 1 rank(s), rank $rank: writing [^;]*" "$log" | head -1)"
}

# Two ranks, rank 1's shard write fails at step 2.
run=$work/two
status=0
MTNLG_PLANT_BUG=fail-shard-write:1:2 mpirun2 "$mtnlg" train "$recipe" --steps 3 --run-dir "$run" \
  --set train.save_interval=1 --set parallel.tensor=2 "${small[@]}" > "$work/two.log" 2>&1 || status=$?
[ "$status" != 0 ] || { cat "$work/two.log"; fail "the run with a failed save exited 0"; }
check_failed_save "$run" "$work/two.log" 1 any
# Rank 0 did not fail; its message, when the abort let it print, points at rank 1.
if grep -q "rank 0: saving the checkpoint" "$work/two.log"; then
  grep -q "rank 0: saving the checkpoint of step 2 failed on 1 rank(s), rank 1: see its log for the reason" "$work/two.log" ||
    { cat "$work/two.log"; fail "rank 0's message does not name rank 1"; }
fi
"$mpiexec" --allow-run-as-root --oversubscribe -np 2 "$mtnlg" train "$recipe" --steps 3 --resume "$run" \
  --set parallel.tensor=2 "${small[@]}" > "$work/two-resumed.log" 2>&1 || { cat "$work/two-resumed.log"; fail "resume after the failed save"; }
grep -q "resumed from .*step-0000001: step 1" "$work/two-resumed.log" || { cat "$work/two-resumed.log"; fail "did not resume from step 1"; }
[ "$(cat "$run/checkpoints/latest")" = step-0000003 ] || fail "the resumed run did not save step 3"
echo "ok: resumed from step 1 after the failed save and reached step 3"

# One process, rank 0's shard write fails at step 2.
run=$work/one
status=0
MTNLG_PLANT_BUG=fail-shard-write:0:2 "$mtnlg" train "$recipe" --steps 3 --run-dir "$run" --set train.save_interval=1 \
  "${small[@]}" > "$work/one.log" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$work/one.log"; fail "one process with a failed save: exit $status, expected 1"; }
check_failed_save "$run" "$work/one.log" 0

# Rank 0 cannot point `latest` at the new checkpoint.
run=$work/publish
mkdir -p "$run/checkpoints/latest/in-the-way"
status=0
"$mtnlg" train "$recipe" --steps 1 --run-dir "$run" "${small[@]}" > "$work/publish.log" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$work/publish.log"; fail "a save that cannot be published: exit $status, expected 1"; }
grep -q "saving the checkpoint of step 1 failed: cannot rename .*checkpoints/latest.tmp to .*checkpoints/latest: .*; the previous checkpoint (RUN_DIR/checkpoints/latest) is unchanged" "$work/publish.log" ||
  { cat "$work/publish.log"; fail "no message for a checkpoint that could not be published"; }
echo "ok: $(grep -o "saving the checkpoint of step 1 failed: cannot rename [^;]*" "$work/publish.log" | head -1)"
