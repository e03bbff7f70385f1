#!/usr/bin/env bash
# resume_run.sh MTNLG COMPARE WORK NAME RANKS KILL_STEP RESUME_RANKS COMPARE_ARGS [-- MTNLG_ARGS... [--resume-with ARGS...]]
# A run of tests/parallel/equivalence.toml on RANKS ranks (0: one process, no mpirun) that saves a checkpoint
# every step and is killed (SIGKILL, rank 0) in the middle of saving step KILL_STEP — its shards on disk, no
# manifest — then resumed from `latest` on RESUME_RANKS ranks (with the extra arguments after --resume-with, a
# different layout) to the end, and compared with COMPARE_ARGS (the reference run and this one). Checks on
# the way that the killed save left `latest` on the step before and its half-written directory behind.
set -euo pipefail
mtnlg=$1 compare=$2 work=$3 name=$4 ranks=$5 kill_step=$6 resume_ranks=$7 compare_args=$8
shift 8
[ "${1:-}" = "--" ] && shift
args=() resume_args=()
while [ $# -gt 0 ] && [ "$1" != "--resume-with" ]; do args+=("$1"); shift; done
[ "${1:-}" = "--resume-with" ] && { shift; resume_args=("$@"); }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$work/$name
mkdir -p "$work"
rm -rf "$run"
launch() {
  local n=$1
  shift
  if [ "$n" = 0 ]; then "$mtnlg" "$@"; else mpirun --allow-run-as-root --oversubscribe -np "$n" "$mtnlg" "$@"; fi
}
fail() { echo "FAIL: $*"; exit 1; }

if MTNLG_PLANT_BUG=kill-during-save:$kill_step launch "$ranks" train "$here/equivalence.toml" --run-dir "$run" \
    --set train.save_interval=1 "${args[@]}" > "$run.killed.log" 2>&1; then
  cat "$run.killed.log"; fail "the run was to be killed while saving step $kill_step"
fi
previous=$(printf 'step-%07d' $((kill_step - 1)))
[ "$(cat "$run/checkpoints/latest")" = "$previous" ] || fail "latest is $(cat "$run/checkpoints/latest"), expected $previous"
[ -d "$run/checkpoints/$(printf 'step-%07d' "$kill_step").tmp" ] || fail "no half-written step $kill_step directory"
[ ! -e "$run/checkpoints/$(printf 'step-%07d' "$kill_step").tmp/manifest.toml" ] || fail "the killed save has a manifest"
grep -q "\"step\": $kill_step," "$run/metrics.jsonl" || fail "metrics.jsonl lacks step $kill_step before the resume"
echo "killed while saving step $kill_step: latest = $previous"

launch "$resume_ranks" train "$here/equivalence.toml" --resume "$run" "${args[@]}" "${resume_args[@]}" \
  > "$run.resumed.log" 2>&1 || { tail -30 "$run.resumed.log"; fail "the resumed run exited non-zero"; }
grep -m1 "resumed from" "$run.resumed.log"
[ ! -e "$run/checkpoints/$(printf 'step-%07d' "$kill_step").tmp" ] || fail "the half-written directory was not cleaned up"
# shellcheck disable=SC2086
"$compare" $compare_args
