#!/usr/bin/env bash
# tokenize_run.sh MTNLG_DATA FIXTURES WORK — mtnlg-data tokenize as a user runs it: Megatron's output naming,
# one dataset per --json-keys field, the same bytes for any --workers, and the document/token counts.
set -euo pipefail
tool=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
out=$("$tool" tokenize --input "$fixtures/three_docs.jsonl" --output-prefix "$work/one" --json-keys text title \
  --append-eod --workers 1)
grep -q "3 documents" <<<"$out" || fail "expected 3 documents: $out"
for key in text title; do
  [ -f "$work/one_${key}_document.bin" ] && [ -f "$work/one_${key}_document.idx" ] || fail "no one_${key}_document"
done
"$tool" tokenize --input "$fixtures/three_docs.jsonl" --output-prefix "$work/two" --json-keys text title \
  --append-eod --workers 2 >/dev/null
for key in text title; do
  for ext in bin idx; do
    cmp "$work/one_${key}_document.$ext" "$work/two_${key}_document.$ext" || fail "$key.$ext differs with 2 workers"
  done
done
# "naïve café 日本語 🙂" is the README's golden vector (11 tokens); the other two documents, plus 3 EODs.
tokens=$(grep -o "[0-9]* tokens" <<<"$out" | head -1 | cut -d' ' -f1)
[ "$tokens" -gt 14 ] || fail "too few tokens: $out"
ls "$work" | grep -q tmp && fail "temporary files left behind: $(ls "$work")"
echo "$out"
