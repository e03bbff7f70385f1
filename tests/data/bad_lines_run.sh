#!/usr/bin/env bash
# bad_lines_run.sh MTNLG_DATA QUALITY_MODEL TASK_FILE WORK — --bad-lines for every command that reads JSONL:
# by default a bad line stops the command with FILE:LINE; with --bad-lines skip each bad line is reported on
# stderr with FILE:LINE and why, left out of every output, and counted in the summary.
set -euo pipefail
tool=$1 model=$2 task=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
mixed=$work/mixed.jsonl
# Lines 2, 3 and 4 are bad: not JSON, no "text" field, not an object. Line 6 repeats line 1 (for dedup).
cat >"$mixed" <<'JSONL'
{"text": "the first good document has several words in it for shingles"}
not json at all
{"body": "no text field here"}
[1, 2]
{"text": "the second good document is quite different from the first one"}
{"text": "the first good document has several words in it for shingles"}
JSONL
good_lines() { sed -n '1p;5p;6p' "$mixed"; }

expect_warnings() {  # FILE_OF_STDERR
  grep -q "mixed.jsonl:2: not a JSON object" "$1" || fail "no warning for line 2: $(cat "$1")"
  grep -q "mixed.jsonl:3: no string field 'text'" "$1" || fail "no warning for line 3: $(cat "$1")"
  grep -q "mixed.jsonl:4: not a JSON object" "$1" || fail "no warning for line 4: $(cat "$1")"
}

# tokenize
if "$tool" tokenize --input "$mixed" --output-prefix "$work/t-fail" 2>"$work/err"; then fail "tokenize accepted bad lines"; fi
grep -q "mixed.jsonl:2: not a JSON object" "$work/err" || fail "tokenize default: $(cat "$work/err")"
"$tool" tokenize --input "$mixed" --output-prefix "$work/t" --bad-lines skip >"$work/out" 2>"$work/err"
expect_warnings "$work/err"
grep -q "^skipped 3 bad lines" "$work/out" || fail "tokenize summary: $(cat "$work/out")"
grep -q "^3 documents" "$work/out" || fail "tokenize documents: $(cat "$work/out")"

# dedup: the bad lines are not documents; line 6 is a duplicate of line 1
"$tool" dedup --input mixed="$mixed" --output-dir "$work/d" --write-filtered --bad-lines skip >"$work/out" 2>"$work/err"
expect_warnings "$work/err"
grep -q "^skipped 3 bad lines" "$work/out" || fail "dedup summary: $(cat "$work/out")"
[ "$(cat "$work/d/kept.jsonl")" = "$(printf '{"dataset":"mixed","line":1}\n{"dataset":"mixed","line":5}')" ] ||
  fail "dedup kept: $(cat "$work/d/kept.jsonl")"
diff <(sed -n '1p;5p' "$mixed") "$work/d/mixed.jsonl" || fail "dedup filtered corpus"

# decontaminate: nothing matches the task, so the output is exactly the good lines
"$tool" decontaminate --input "$mixed" --output "$work/clean.jsonl" --task "piqa=$task" --bad-lines skip \
  >"$work/out" 2>"$work/err"
expect_warnings "$work/err"
grep -q "^skipped 3 bad lines" "$work/out" || fail "decontaminate summary: $(cat "$work/out")"
diff <(good_lines) "$work/clean.jsonl" || fail "decontaminate output"

# quality score and filter (threshold 0 keeps every document, byte for byte)
"$tool" quality score --model "$model" --input "$mixed" --output "$work/scored.jsonl" --bad-lines skip \
  >"$work/out" 2>"$work/err"
expect_warnings "$work/err"
[ "$(wc -l <"$work/scored.jsonl")" = 3 ] || fail "quality score wrote $(wc -l <"$work/scored.jsonl") lines"
"$tool" quality filter --model "$model" --input "$mixed" --output "$work/kept.jsonl" --rule threshold \
  --threshold 0 --bad-lines skip >"$work/out" 2>"$work/err"
expect_warnings "$work/err"
grep -q "^skipped 3 bad lines" "$work/out" || fail "quality filter summary: $(cat "$work/out")"
diff <(good_lines) "$work/kept.jsonl" || fail "quality filter output"

# a wrong value names the option
if "$tool" dedup --input mixed="$mixed" --output-dir "$work/x" --bad-lines ignore 2>"$work/err"; then fail "accepted"; fi
grep -q -- "--bad-lines must be fail or skip, got 'ignore'" "$work/err" || fail "bad value: $(cat "$work/err")"
echo "bad lines: fatal by default, skipped and counted with --bad-lines skip, in every command"
