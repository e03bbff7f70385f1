#!/usr/bin/env bash
# inspect_run.sh MTNLG_DATA FIXTURES WORK — mtnlg-data inspect on a dataset tokenized from three_docs.jsonl:
# the summary, a range with token ids and decoded text, and the errors (range out of bounds, bad range,
# missing and corrupt files).
set -euo pipefail
tool=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$tool" tokenize --input "$fixtures/three_docs.jsonl" --output-prefix "$work/d" --append-eod >/dev/null
ds=$work/d_text_document
out=$("$tool" inspect "$ds")
echo "$out"
grep -q "^documents: 3$" <<<"$out" || fail "documents"
grep -q "^tokens:    35$" <<<"$out" || fail "tokens"
grep -q "^dtype:     uint16$" <<<"$out" || fail "dtype"
grep -q "^document length (tokens): min 11, mean 11.7, max 12$" <<<"$out" || fail "lengths"
grep -q "^document [0-9]" <<<"$out" && fail "documents listed without --documents"

out=$("$tool" inspect "$ds" --documents 1:3 --tokens --text)
echo "$out"
grep -q "^documents:" <<<"$out" && fail "summary without --summary"
[ "$(grep -c '^document [0-9]' <<<"$out")" = 2 ] || fail "two documents"
grep -q "^document 1: 11 tokens$" <<<"$out" || fail "document 1"
grep -q "^  ids: 1870 262 4534 373 1231 1296 11 290 7951 13 50256$" <<<"$out" || fail "ids"
grep -qF '  text: "naïve café 日本語 🙂<|endoftext|>"' <<<"$out" || fail "decoded text"
"$tool" inspect "$ds" --documents 2 --summary | grep -q "^documents: 3$" || fail "--summary"
[ "$("$tool" inspect "$ds" --documents :1 | grep -c '^document [0-9]')" = 1 ] || fail ":1"
[ "$("$tool" inspect "$ds" --documents 1: | grep -c '^document [0-9]')" = 2 ] || fail "1:"
[ "$("$tool" inspect "$ds" --documents 3:3 | grep -c '^document [0-9]')" = 0 ] || fail "3:3 is empty"

expect_error() {  # PATTERN ARGS...: exit 1 and the message
  local pattern=$1 err rc
  shift
  set +e
  err=$("$tool" inspect "$@" 2>&1)
  rc=$?
  set -e
  [ "$rc" = 1 ] || fail "exit $rc from inspect $*: $err"
  grep -qF -- "$pattern" <<<"$err" || fail "inspect $*: expected '$pattern', got: $err"
}
expect_error "--documents 2:5 is out of range: the dataset has 3 documents" "$ds" --documents 2:5
expect_error "--documents 4 is out of range" "$ds" --documents 4
expect_error "--documents 2:1 is out of range" "$ds" --documents 2:1
expect_error "--documents x:2: expected A:B" "$ds" --documents x:2
expect_error "--documents -1:2: expected A:B" "$ds" --documents=-1:2
expect_error "cannot open indexed dataset $work/nothing" "$work/nothing"
cp "$ds.bin" "$work/corrupt.bin"
head -c 30 "$ds.idx" > "$work/corrupt.idx"
expect_error "corrupt.idx: truncated .idx" "$work/corrupt"
cp "$ds.idx" "$work/short.idx"
head -c 10 "$ds.bin" > "$work/short.bin"
expect_error "short" "$work/short"
printf 'NOTMAGIC!%.0s' 1 > "$work/magic.idx" && cp "$ds.bin" "$work/magic.bin"
expect_error "magic.idx" "$work/magic"
echo OK
