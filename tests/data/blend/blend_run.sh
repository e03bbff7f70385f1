#!/usr/bin/env bash
# blend_run.sh MTNLG MTNLG_DATA FIXTURES WORK
# The data path end to end for a blend: two corpora tokenized with mtnlg-data, a recipe whose [reader] blends
# them 1:3, two training steps; the start-up report gives each dataset's weight, realised share and epochs.
set -euo pipefail
mtnlg=$1 mtnlg_data=$2 fixtures=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
# Two corpora: the fixture text, and its lines reversed (different documents, same vocabulary).
"$mtnlg_data" tokenize --input "$fixtures/three_docs.jsonl" --output-prefix "$work/first" --append-eod > /dev/null
tac "$fixtures/three_docs.jsonl" > "$work/second.jsonl"
"$mtnlg_data" tokenize --input "$work/second.jsonl" --output-prefix "$work/second" --append-eod > /dev/null
cat > "$work/blend.toml" <<TOML
include = "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/recipes/tiny-model.toml"
[model]
seq_len = 16
[train]
steps = 2
micro_batch = 2
global_batch = 4
eval_interval = 0
[reader]
name = "blend"
split = "1,0,0"
datasets = [
  { name = "first", prefix = "$work/first_text_document", weight = 1 },
  { name = "second", prefix = "$work/second_text_document", weight = 3 },
]
TOML
out=$("$mtnlg" train "$work/blend.toml" --run-dir "$work/run" 2>&1) || fail "train exited $?: $out"
echo "$out"
grep -Eq "reader blend: 2 datasets over the run's first 8 training samples" <<<"$out" || fail "no blend report"
grep -Eq "first +25.00 +25.00" <<<"$out" || fail "first's weight and realised share are not 25%"
grep -Eq "second +75.00 +75.00" <<<"$out" || fail "second's weight and realised share are not 75%"
grep -q "step     2" <<<"$out" || fail "did not train"
echo "ok: blended 1:3, reported, trained"
