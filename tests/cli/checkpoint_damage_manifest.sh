#!/usr/bin/env bash
# checkpoint_damage_manifest.sh MTNLG RECIPE WORK — a training checkpoint whose manifest.toml lost a part is
# refused with its name, and the run directory is left as it was:
#  - an fp16 run that made optimizer updates, its manifest without [loss_scaler] (the scale, growth and
#    hysteresis trackers an exact resume needs): "manifest.toml has no [loss_scaler]: the checkpoint is damaged";
#  - a manifest without consumed_samples: the key is named.
set -euo pipefail
mtnlg=$1 recipe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
# The tiny model with the synthetic task's 256-token vocabulary and no evaluation: each run takes well under a
# second.
small=(--set model.vocab_size=256 --set model.padded_vocab=256 --set train.global_batch=8 --set train.eval_interval=0)
fp16=(--set train.dtype=fp16 --set train.initial_loss_scale=128)
source "$(dirname "$0")/expect_error.sh"

# fp16 with a loss scale small enough that no step overflows, so the checkpoint has optimizer updates.
run=$work/fp16
"$mtnlg" train "$recipe" --steps 2 --run-dir "$run" "${small[@]}" "${fp16[@]}" > "$work/fp16.log" 2>&1 || { cat "$work/fp16.log"; fail "fp16 training failed"; }
ckpt=$run/checkpoints/step-0000002
grep -Eq '^optimizer_updates = [1-9]' "$ckpt/manifest.toml" || fail "no optimizer updates saved: $(cat "$ckpt/manifest.toml")"
grep -q '^\[loss_scaler\]' "$ckpt/manifest.toml" || fail "an fp16 checkpoint without [loss_scaler]: $(cat "$ckpt/manifest.toml")"
# The untouched checkpoint resumes (the damage below is what makes it fail).
cp -r "$run" "$work/intact"
"$mtnlg" train "$recipe" --steps 3 --resume "$work/intact" "${small[@]}" "${fp16[@]}" > "$work/intact.log" 2>&1 || { cat "$work/intact.log"; fail "resuming the intact fp16 checkpoint failed"; }

# [loss_scaler] and its keys removed, up to the next table or the end.
cp "$run/metrics.jsonl" "$work/metrics.before"
awk '/^\[loss_scaler\]/ {skip = 1; next} /^\[/ {skip = 0} !skip' "$ckpt/manifest.toml" > "$work/manifest.toml"
mv "$work/manifest.toml" "$ckpt/manifest.toml"
! grep -q 'loss_scaler\|growth_tracker' "$ckpt/manifest.toml" || fail "the [loss_scaler] table was not removed"
expect_error "step-0000002/manifest.toml has no \[loss_scaler\]: the checkpoint is damaged" \
  "$mtnlg" train "$recipe" --steps 3 --resume "$run" "${small[@]}" "${fp16[@]}"
cmp -s "$run/metrics.jsonl" "$work/metrics.before" || fail "a refused resume changed metrics.jsonl"

# consumed_samples removed.
run=$work/nosamples
"$mtnlg" train "$recipe" --steps 1 --run-dir "$run" "${small[@]}" > "$work/nosamples.log" 2>&1 || { cat "$work/nosamples.log"; fail "training failed"; }
sed -i '/^consumed_samples = /d' "$run/checkpoints/step-0000001/manifest.toml"
expect_error "step-0000001/manifest.toml.*missing key 'consumed_samples'" "$mtnlg" train "$recipe" --steps 2 --resume "$run" "${small[@]}"
