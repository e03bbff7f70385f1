#!/usr/bin/env bash
# training_checkpoint.sh MTNLG RECIPE WORK — sharded training checkpoints as a user meets them:
#  - train.keep_checkpoints prunes old ones; `latest` names the newest;
#  - SIGUSR1 saves a checkpoint and training goes on; SIGTERM saves one and stops (exit 143), and --resume
#    continues from it;
#  - every damaged or mismatched checkpoint is refused with a message naming it, and the run directory is
#    left as it was (metrics.jsonl unchanged); a save that cannot be written fails with the reason.
set -euo pipefail
mtnlg=$1 recipe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/expect_error.sh"

# keep_checkpoints = 2 of a save every step over 4 steps: steps 3 and 4 remain.
run=$work/run
"$mtnlg" train "$recipe" --steps 4 --run-dir "$run" --set train.save_interval=1 --set train.keep_checkpoints=2 \
  > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "training failed"; }
kept=$(cd "$run/checkpoints" && echo step-*)
[ "$kept" = "step-0000003 step-0000004" ] || fail "kept: $kept"
[ "$(cat "$run/checkpoints/latest")" = step-0000004 ] || fail "latest: $(cat "$run/checkpoints/latest")"
echo "ok: keep_checkpoints=2 kept $kept"

# Nothing left to do: the checkpoint is already at train.steps.
"$mtnlg" train "$recipe" --steps 4 --resume "$run" 2>&1 | grep -q "nothing to train" || fail "no 'nothing to train'"

# Damage, one way per copy; each refusal leaves metrics.jsonl as it was.
damage() {  # NAME — a copy of the run to damage
  rm -rf "$work/$1" && cp -r "$run" "$work/$1" && echo "$work/$1/checkpoints/step-0000004"
}
resume() { "$mtnlg" train "$recipe" --steps 6 --resume "$@"; }
c=$(damage missing) && rm "$c/rank-00000.bin"
expect_error "step-0000004: shard rank-00000 is missing \(rank-00000.bin\)" resume "$work/missing"
cmp -s "$run/metrics.jsonl" "$work/missing/metrics.jsonl" || fail "a refused resume changed metrics.jsonl"
c=$(damage truncated) && truncate -s 1000 "$c/rank-00000.bin"
expect_error "rank-00000.bin has 1000 bytes, its index [0-9]+: the file is truncated" resume "$work/truncated"
c=$(damage corrupt) && printf '\x55\x55\x55\x55' | dd of="$c/rank-00000.bin" bs=1 seek=64 conv=notrunc status=none
expect_error "fails its CRC-32 check: the file is corrupt" resume "$work/corrupt"
c=$(damage unfinished) && rm "$c/manifest.toml"
expect_error "step-0000004 is not a complete checkpoint: no manifest.toml" resume "$work/unfinished"
c=$(damage index) && echo '{"entries": [' > "$c/rank-00000.json"
expect_error "rank-00000.json: not a checkpoint shard index .*; the checkpoint is damaged" resume "$work/index"
c=$(damage long) && printf 'x' >> "$c/rank-00000.bin"
expect_error "rank-00000.bin has [0-9]+ bytes, its index [0-9]+: the file is damaged" resume "$work/long"
c=$(damage norecipe) && rm "$c/recipe.toml"
expect_error "step-0000004 has no recipe.toml. the checkpoint is incomplete" resume "$work/norecipe"
damage badlatest >/dev/null && echo ../../elsewhere > "$work/badlatest/checkpoints/latest"
expect_error "latest: expected a checkpoint directory name such as step-0000010" resume "$work/badlatest"
mkdir -p "$work/empty"
expect_error "empty is neither a run directory \(with checkpoints/latest\) nor a sharded checkpoint" resume "$work/empty"
damage dangling >/dev/null && echo step-0000099 > "$work/dangling/checkpoints/latest"
expect_error "step-0000099: no such checkpoint directory" resume "$work/dangling"
damage nolatest >/dev/null && rm "$work/nolatest/checkpoints/latest"
expect_error "latest does not exist.*complete checkpoints there: step-0000004" resume "$work/nolatest"
expect_error "model.init_std is 0.02 there and 0.5 in this recipe \(--set model.init_std=0.5\)" \
  resume "$run" --set model.init_std=0.5
expect_error "train.seed is [0-9]+ there and 99 in this recipe" resume "$run" --set train.seed=99
expect_error "/no/such/run: no such run or checkpoint directory" resume /no/such/run
expect_error "run/checkpoint is a consolidated model checkpoint .RUN_DIR/checkpoint., which holds no optimizer state" resume "$run/checkpoint"
expect_error "continues that run directory. --run-dir .* would be another" resume "$run" --run-dir "$work/elsewhere"
expect_error "train.save_interval must be >= 0" "$mtnlg" train "$recipe" --run-dir "$work/bad" --set train.save_interval=-1
expect_error "convert: .*/run exists and is not an empty directory" "$mtnlg" convert "$run" --tensor 2 "$run"
expect_error "convert --to hf-gpt2 takes no --set" "$mtnlg" convert "$run/checkpoint" --to hf-gpt2 "$work/hf" --set train.dtype=bf16
expect_error "train.initial_loss_scale must be > 0" "$mtnlg" train "$recipe" --run-dir "$work/bad" \
  --set train.dtype=fp16 --set train.initial_loss_scale=0
expect_error "train.keep_checkpoints must be >= 0" "$mtnlg" train "$recipe" --run-dir "$work/bad" --set train.keep_checkpoints=-2
# A save that cannot be written (here RUN_DIR/checkpoints is a file) fails the run with the reason.
mkdir -p "$work/blocked" && touch "$work/blocked/checkpoints"
expect_error "saving the checkpoint of step 1 failed: cannot create .*blocked/checkpoints/step-0000001.tmp: .*; the previous checkpoint \(RUN_DIR/checkpoints/latest\) is unchanged" \
  "$mtnlg" train "$recipe" --steps 1 --run-dir "$work/blocked"


# Signals: SIGUSR1 saves and training goes on; SIGTERM saves and stops with 143.
sig=$work/signals
"$mtnlg" train "$recipe" --steps 100000 --run-dir "$sig" > "$work/signals.log" 2>&1 &
pid=$!
wait_for() {  # PATTERN FILE
  for _ in $(seq 600); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null; cat "$work/signals.log"; fail "timed out waiting for /$1/ in $2"
}
wait_for '"step": 2,' "$sig/metrics.jsonl"
kill -USR1 "$pid"
wait_for "checkpoint of step" "$work/signals.log"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[ "$status" = 143 ] || { cat "$work/signals.log"; fail "SIGTERM: exit $status, expected 143"; }
grep -q "stopped by SIGTERM after step" "$work/signals.log" || fail "no 'stopped by SIGTERM' line"
saves=$(grep -c "checkpoint of step" "$work/signals.log")
[ "$saves" = 2 ] || fail "expected 2 saves (SIGUSR1, SIGTERM), got $saves"
stopped=$(sed -E 's/^\{"step": ([0-9]+),.*/\1/' "$sig/metrics.jsonl" | tail -1)
[ "$(cat "$sig/checkpoints/latest")" = "$(printf 'step-%07d' "$stopped")" ] || fail "latest is not step $stopped"
echo "ok: SIGUSR1 saved and went on, SIGTERM saved step $stopped and exited 143"
"$mtnlg" train "$recipe" --steps $((stopped + 2)) --resume "$sig" > "$work/signals-resumed.log" 2>&1 ||
  { cat "$work/signals-resumed.log"; fail "resume after SIGTERM failed"; }
[ "$(wc -l < "$sig/metrics.jsonl")" = $((stopped + 2)) ] || fail "metrics.jsonl does not hold steps 1..$((stopped + 2))"
echo "ok: resumed after SIGTERM to step $((stopped + 2))"
