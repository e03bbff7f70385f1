#!/usr/bin/env bash
# eval_perplexity.sh MTNLG MTNLG_DATA RECIPE CHECK_PY WORK — `mtnlg eval CKPT --perplexity PREFIX` as a user runs
# it: an f64 model trained for two steps, a dataset tokenized with mtnlg-data, the mean loss mtnlg prints
# recomputed in PyTorch (tests/reference/perplexity_check.py), the same for any --batch, and --limit.
set -euo pipefail
mtnlg=$1 mtnlg_data=$2 recipe=$3 check=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$mtnlg" train "$recipe" --steps 2 --set train.dtype=f64 --set model.seq_len=16 --set train.eval_interval=0 \
  --run-dir "$work/run" >"$work/train.log" 2>&1 || fail "training: $(tail -5 "$work/train.log")"
for i in $(seq 1 12); do
  echo "{\"text\": \"Document $i: the quick brown fox jumps over the lazy dog $i times, then rests.\"}"
done >"$work/docs.jsonl"
"$mtnlg_data" tokenize --input "$work/docs.jsonl" --output-prefix "$work/docs" --append-eod >/dev/null
data=$work/docs_text_document

loss_of() { grep -o 'mean loss [0-9.]*' <<<"$1" | cut -d' ' -f3; }
out=$("$mtnlg" eval "$work/run/checkpoint" --perplexity "$data")
echo "$out"
grep -Eq "windows of 16 tokens" <<<"$out" || fail "no window count: $out"
loss=$(loss_of "$out")
/usr/bin/python3 "$check" "$work/run/checkpoint" "$data" "$loss"
# f64: the batch changes nothing but rounding far below the printed digits
other=$(loss_of "$("$mtnlg" eval "$work/run/checkpoint" --perplexity "$data" --batch 3)")
/usr/bin/python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1e-9 * a)" \
  "$loss" "$other" || fail "--batch 3 gives $other, the default $loss"
"$mtnlg" eval "$work/run/checkpoint" --perplexity "$data" --limit 2 | grep -q "^.* 2 windows of 16 tokens (32 tokens)" ||
  fail "--limit 2"
echo "mtnlg eval --perplexity matches PyTorch"
