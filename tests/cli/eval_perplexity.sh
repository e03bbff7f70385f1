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

# Errors, each naming what is wrong: too little data for one window, a token the model does not know (a model
# of 256 tokens on GPT-2 text), a negative batch.
echo '{"text": "Hi"}' >"$work/short.jsonl"
"$mtnlg_data" tokenize --input "$work/short.jsonl" --output-prefix "$work/short" >/dev/null
expect_error() {  # PATTERN COMMAND...
  local pattern=$1; shift
  if "$@" >"$work/err" 2>&1; then fail "succeeded: $*"; fi
  grep -Eq -- "$pattern" "$work/err" || fail "expected /$pattern/ from $*, got: $(cat "$work/err")"
}
expect_error "short_text_document has fewer than model.seq_len \+ 1 = 17 tokens: nothing to evaluate" \
  "$mtnlg" eval "$work/run/checkpoint" --perplexity "$work/short_text_document"
"$mtnlg" train "$recipe" --steps 1 --set model.vocab_size=256 --set model.padded_vocab=256 --set model.seq_len=16 \
  --set train.eval_interval=0 --run-dir "$work/small" >"$work/train-small.log" 2>&1 ||
  fail "training the 256-token model: $(tail -5 "$work/train-small.log")"
expect_error "docs_text_document: token [0-9]+ in window 0 is outside the model's vocabulary of 256" \
  "$mtnlg" eval "$work/small/checkpoint" --perplexity "$data"
expect_error "--batch must be >= 0" "$mtnlg" eval "$work/run/checkpoint" --perplexity "$data" --batch -1
echo "mtnlg eval --perplexity matches PyTorch; its errors name what is wrong"
