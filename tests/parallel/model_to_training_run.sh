#!/usr/bin/env bash
# model_to_training_run.sh MTNLG COMPARE WORK REFERENCE — training from a model checkpoint (what `mtnlg convert
# --from hf-gpt2` imports, and RUN_DIR/checkpoint) on another layout: a one-rank f64 run stopped after 2 steps,
# its model checkpoint converted (--tensor 2 --pipeline 2) into a training checkpoint with fresh optimizer
# state, resumed on 4 ranks for one step. That step's loss is a forward pass of the model's weights on the
# next batch, so it must be the uninterrupted reference's step-3 loss (to summation order): the weights and the
# data position came through. An --set the resharding cannot satisfy is refused.
set -euo pipefail
mtnlg=$1 work=$3 reference=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$work/from-model converted=$work/from-model-tp2-pp2 resumed=$work/from-model-resumed
fail() { echo "FAIL: $*"; exit 1; }
mkdir -p "$work"
rm -rf "$run" "$converted" "$resumed"
"$mtnlg" train "$here/equivalence.toml" --run-dir "$run" --steps 2 --set train.dtype=f64 --set train.eval_interval=0 \
  > "$run.log" 2>&1 || { cat "$run.log"; fail "the first run failed"; }
"$mtnlg" convert "$run/checkpoint" --tensor 2 --pipeline 2 "$converted" 2>&1 | tee "$converted.log"
grep -q "fresh optimizer state" "$converted.log" || fail "convert did not say the optimizer state is fresh"
if out=$("$mtnlg" convert "$run/checkpoint" --tensor 2 "$work/from-model-bad" --set model.hidden=48 2>&1); then
  fail "a converted model of another size was accepted"
fi
grep -q "from-model/checkpoint: 0.word_embeddings (param) is f64 (512, 32) .* the model wants f64 (512, 48)" <<<"$out" ||
  fail "unexpected error: $out"
[ ! -e "$work/from-model-bad" ] && [ ! -e "$work/from-model-bad.tmp" ] || fail "a refused convert left files"
mpirun --allow-run-as-root --oversubscribe -np 4 "$mtnlg" train "$here/equivalence.toml" --resume "$converted" \
  --run-dir "$resumed" --steps 3 --set train.dtype=f64 --set parallel.tensor=2 --set parallel.pipeline=2 \
  > "$resumed.log" 2>&1 || { tail -30 "$resumed.log"; fail "the resumed run failed"; }
ours=$(sed -E 's/.*"step": 3,.*"loss": ([^,]*),.*/\1/;t;d' "$resumed/metrics.jsonl")
theirs=$(sed -E 's/.*"step": 3,.*"loss": ([^,]*),.*/\1/;t;d' "$reference/metrics.jsonl")
awk -v a="$ours" -v b="$theirs" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d
  printf "step 3 loss from the converted model on TP 2 x PP 2: %s, reference %s (relative %.3g)\n", a, b, d
  exit (d <= 1e-9) ? 0 : 1 }' || fail "the converted model's step-3 loss is not the reference's"
