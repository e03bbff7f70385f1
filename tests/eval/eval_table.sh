#!/usr/bin/env bash
# eval_table.sh MTNLG EVAL_TABLE RECIPE FIXTURES WORK — tools/eval-table as a user runs it: the Figure 3 table of
# a checkpoint over several tasks and shot counts, its JSON equal to what `mtnlg eval --json` gives for each,
# and its errors (an unknown task, a missing data file) with --skip-missing.
set -euo pipefail
mtnlg=$1 table=$2 recipe=$3 fixtures=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
source "$(dirname "$0")/../cli/expect_error.sh"
"$mtnlg" train "$recipe" --steps 2 --set train.eval_interval=0 --run-dir "$work/run" > "$work/train.log" 2>&1 ||
  { cat "$work/train.log"; fail "training"; }
ckpt=$work/run/checkpoint
out=$(MTNLG=$mtnlg "$table" "$ckpt" --data-dir "$fixtures" --tasks piqa,lambada,winogrande --shots 0,1,2 --seed 7 \
  --json "$work/table.json")
echo "$out"
grep -qx "| Category | Tasks | Zero-shot | One-shot | Few-shot (2) |" <<<"$out" || fail "no header"
grep -Eqx "\| Commonsense reasoning \| PiQA \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|" <<<"$out" || fail "no PiQA row"
[ "$(grep -c '^| [A-Z]' <<<"$out")" = 4 ] || fail "expected a header and 3 rows"
# The table's JSON says what `mtnlg eval` says for the same task, shots and seed.
"$mtnlg" eval "$ckpt" --task winogrande --data "$fixtures/winogrande.jsonl" --shots 1 --fewshot-data \
  "$fixtures/winogrande.jsonl" --seed 7 --json "$work/direct.json" > /dev/null
python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))["tasks"]["winogrande"]["1"]["metrics"]
d = json.load(open(sys.argv[2]))["metrics"]
sys.exit(0 if t == d else f"table {t} != eval {d}")' "$work/table.json" "$work/direct.json"
echo "ok: the table's winogrande one-shot metrics equal mtnlg eval's"
expect_error "unknown task 'piqaa'; the tasks are lambada, boolq" env MTNLG="$mtnlg" "$table" "$ckpt" --data-dir "$fixtures" --tasks piqaa
mkdir -p "$work/some" && cp "$fixtures/piqa.jsonl" "$work/some/"
expect_error "$work/some/boolq.jsonl does not exist .pass --skip-missing to leave boolq out." \
  env MTNLG="$mtnlg" "$table" "$ckpt" --data-dir "$work/some" --tasks piqa,boolq
out=$(MTNLG=$mtnlg "$table" "$ckpt" --data-dir "$work/some" --tasks piqa,boolq --shots 0 --skip-missing)
[ "$(grep -c '^| [A-Z]' <<<"$out")" = 2 ] || fail "--skip-missing: $out"
expect_error "--shots 0,x: expected comma-separated integers" env MTNLG="$mtnlg" "$table" "$ckpt" --data-dir "$fixtures" --shots 0,x
echo "ok: eval-table"
