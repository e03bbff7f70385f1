#!/usr/bin/env bash
# tokenize_run.sh MTNLG_DATA FIXTURES WORK — mtnlg-data tokenize as a user runs it: Megatron's output naming,
# one dataset per --json-keys field, the same bytes for any --workers and from standard input, batches of
# many documents and a huge one, the progress line, and the document/token counts.
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

# Standard input ("-", JSON lines) gives the same dataset as the file.
"$tool" tokenize --input - --output-prefix "$work/stdin" --json-keys text title --append-eod \
  <"$fixtures/three_docs.jsonl" >/dev/null
for ext in bin idx; do cmp "$work/one_text_document.$ext" "$work/stdin_text_document.$ext" || fail "stdin .$ext"; done

# Across batch boundaries (a batch holds at most 4096 documents or 16 MiB of text): 10,000 documents of varied
# length, some empty, then one 18 MB document (a batch of its own). The same bytes for 1 and 3 workers.
awk 'BEGIN { for (i = 0; i < 10000; i++) { t = ""; for (j = 0; j < i % 37; j++) t = t "w" (i * j % 101) " ";
               printf "{\"text\": \"%s\"}\n", t } }' >"$work/many.jsonl"
awk 'BEGIN { printf "{\"text\": \""; for (i = 0; i < 3000000; i++) printf "hello "; print "\"}" }' >>"$work/many.jsonl"
for w in 1 3; do
  "$tool" tokenize --input "$work/many.jsonl" --output-prefix "$work/many$w" --append-eod --workers $w \
    --progress always >"$work/many$w.out" 2>"$work/many$w.err"
done
for ext in bin idx; do cmp "$work/many1_text_document.$ext" "$work/many3_text_document.$ext" || fail "many .$ext"; done
grep -q "^10001 documents" "$work/many1.out" || fail "expected 10001 documents: $(cat "$work/many1.out")"
# The huge document: "hello" then " hello" × 2,999,999, the trailing " ", and the end-of-document token.
"$tool" inspect "$work/many1_text_document" --documents 10000 >"$work/huge.txt"
grep -Eq "3000002 tokens" "$work/huge.txt" || fail "huge document: $(head -c 300 "$work/huge.txt")"
# --progress always: the final progress line, with the share done and the speed, on stderr only.
grep -Eq "^tokenize: 100\.0% .* MB, .* MB/s, 10001 documents" "$work/many1.err" || fail "progress: $(cat "$work/many1.err")"
grep -q "MB/s, 10001 documents" "$work/many1.out" && fail "progress line on stdout"
rm -f "$work"/many*
