#!/usr/bin/env bash
# mixed_precision_losses.sh MTNLG COMPARE WORK — tests/parallel/equivalence.toml without dropout, 60 steps of
# 16 samples at lr 5e-3, trained in f32, bf16 and fp16 (dynamic loss scaling from 2^16): every step's bf16 and
# fp16 loss is within 5% of f32's, the last 10 steps' mean within 2%, and each run's loss falls below 40% of its
# start. Measured here (2026-11-28): worst step 1.1% (bf16), 0.3% (fp16); last-10 mean 0.5% (bf16), 0.04%
# (fp16); every run 5.56 -> 1.58. The recipe's own lr, 1e-2, is too close to chaos for a tolerance: there a
# 1e-7 change in fp16's step-3 loss (the cross-entropy gradient rounded once to fp16 instead of through f32)
# moved its last-10 mean from 7% to 10% away from f32's.
set -euo pipefail
mtnlg=$1 work=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$work"
for dtype in f32 bf16 fp16; do
  rm -rf "${work:?}/losses-$dtype"
  "$mtnlg" train "$here/equivalence.toml" --run-dir "$work/losses-$dtype" --set train.dtype=$dtype \
    --set optimizer.lr=5e-3 --set train.initial_loss_scale=65536 --set model.hidden_dropout=0 --set model.attention_dropout=0 \
    --set train.global_batch=16 --set train.steps=60 --set train.eval_interval=0 > "$work/losses-$dtype.log" 2>&1 ||
    { tail -20 "$work/losses-$dtype.log"; echo "FAIL: $dtype run"; exit 1; }
done
losses() { sed -E 's/.*"loss": ([^,]*).*/\1/' "$work/losses-$1/metrics.jsonl"; }
for dtype in bf16 fp16; do
  paste <(losses f32) <(losses $dtype) | awk -v dtype=$dtype '
    { d = ($2 - $1) / $1; if (d < 0) d = -d; if (d > worst) { worst = d; at = NR }
      if (NR == 1) { first = $2 } if (NR > 50) { a += $1; b += $2 } last = $2 }
    END {
      mean = (b - a) / a; if (mean < 0) mean = -mean
      printf "%s vs f32: worst step %d at %.4f, last-10 mean %.4f, loss %.3f -> %.3f\n", dtype, at, worst, mean, first, last
      if (worst > 0.05 || mean > 0.02 || last > 0.4 * first) { print "FAIL: outside the stated tolerance"; exit 1 }
    }'
done
