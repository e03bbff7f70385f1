#!/usr/bin/env bash
# train_run.sh MTNLG RECIPE RUN_DIR — trains 3 steps and checks what a user relies on: the log lines, one
# metrics.jsonl object per step with every documented key, validation on the last step, the saved recipe.
set -euo pipefail
mtnlg=$1 recipe=$2 run=$3
rm -rf "$run"
out=$("$mtnlg" train "$recipe" --steps 3 --run-dir "$run" --set train.eval_interval=2 --set train.eval_iters=1 2>&1)
fail() { printf 'FAIL: %s\n--- output ---\n%s\n' "$1" "$out"; exit 1; }
grep -Eq "step +3 \| loss" <<<"$out" || fail "no log line for step 3"
[ "$(wc -l < "$run/metrics.jsonl")" = 3 ] || fail "metrics.jsonl should have 3 lines: $(cat "$run/metrics.jsonl")"
for key in step tokens loss lr batch grad_norm step_time_s tokens_per_s tflops_per_device hardware_tflops_per_device mfu loss_scale skipped; do
  [ "$(grep -c "\"$key\": " "$run/metrics.jsonl")" = 3 ] || fail "key $key missing from some line of metrics.jsonl"
done
grep -q '"step": 2,.*"val_loss": ' "$run/metrics.jsonl" || fail "no val_loss on step 2"
grep -q '"step": 3,.*"val_loss": ' "$run/metrics.jsonl" || fail "no val_loss on the last step"
grep -q '"step": 1,.*"tokens": 1024,' "$run/metrics.jsonl" || fail "step 1 should have consumed 16 x 64 tokens"
grep -q '^steps = 3$' "$run/recipe.toml" || fail "recipe.toml is not the resolved recipe"
echo "$out"
