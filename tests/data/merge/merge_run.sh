#!/usr/bin/env bash
# merge_run.sh MTNLG_DATA FIXTURES WORK — tokenizing two JSONL files separately and merging the datasets gives
# the bytes tokenizing their concatenation gives; counts are printed per input and in total; a failed merge
# leaves nothing behind.
set -euo pipefail
tool=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
head -2 "$fixtures/three_docs.jsonl" > "$work/a.jsonl"
tail -n +3 "$fixtures/three_docs.jsonl" > "$work/b.jsonl"
printf '%s\n' '{"text": "A third shard, with <|endoftext|> written out.", "title": "c"}' > "$work/c.jsonl"
cat "$work/a.jsonl" "$work/b.jsonl" "$work/c.jsonl" > "$work/abc.jsonl"
for x in a b c abc; do
  "$tool" tokenize --input "$work/$x.jsonl" --output-prefix "$work/$x" --append-eod >/dev/null
done
out=$("$tool" merge --input "$work/a_text_document" --input "$work/b_text_document" \
  --input "$work/c_text_document" --output-prefix "$work/merged")
echo "$out"
for ext in bin idx; do
  cmp "$work/merged.$ext" "$work/abc_text_document.$ext" || fail "merged.$ext differs from tokenizing a+b+c"
done
grep -q "a_text_document: 2 documents, 23 tokens" <<<"$out" || fail "per-input counts"
grep -q "b_text_document: 1 document, 12 tokens" <<<"$out" || fail "per-input counts"
grep -Eq "total: 4 documents, [0-9]+ tokens \(uint16\)" <<<"$out" || fail "total"
# One input is a copy; merging a merge nests.
"$tool" merge --input "$work/abc_text_document" --output-prefix "$work/copy" >/dev/null
cmp "$work/copy.bin" "$work/abc_text_document.bin" && cmp "$work/copy.idx" "$work/abc_text_document.idx"
"$tool" merge --input "$work/a_text_document" --input "$work/b_text_document" --output-prefix "$work/ab" >/dev/null
"$tool" merge --input "$work/ab" --input "$work/c_text_document" --output-prefix "$work/nested" >/dev/null
cmp "$work/nested.bin" "$work/merged.bin" && cmp "$work/nested.idx" "$work/merged.idx"
# A missing input: an error naming it, and no output.
set +e
err=$("$tool" merge --input "$work/a_text_document" --input "$work/missing" --output-prefix "$work/none" 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit $rc for a missing input"
grep -q "cannot open indexed dataset $work/missing" <<<"$err" || fail "message: $err"
ls "$work" | grep -Eq '^none|tmp' && fail "left behind: $(ls "$work")"
echo OK
