#!/usr/bin/env bash
# quality_run.sh MTNLG_DATA FIXTURES WORK — mtnlg-data quality as a user runs it: train on two synthetic
# corpora (held-out accuracy >= 0.9), the same seed giving the same model bytes, scoring (empty documents
# included), both filter rules giving the same bytes for the same seed, kept documents written unchanged, and a
# failed run leaving an earlier output untouched and nothing else behind.
set -euo pipefail
tool=$1 fixtures=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

# high: sentences from a small vocabulary of ordinary words; low: random character junk and spam words.
awk -v seed=1 -v n=300 'BEGIN { srand(seed); split("the history of science shows that careful observation and " \
  "patient research lead to new ideas about nature this article explains how early scholars studied light " \
  "motion structure matter their methods remain useful today for students who learn", w, " ");
  for (d = 0; d < n; d++) { s = ""; k = 20 + int(rand() * 30);
    for (i = 0; i < k; i++) s = s w[1 + int(rand() * length(w))] (i % 9 == 8 ? ". " : " ");
    printf "{\"text\": \"%s\", \"id\": %d}\n", s, d } }' > "$work/high.jsonl"
awk -v seed=2 -v n=300 'BEGIN { srand(seed); split("click free win casino cheap pills buy now xxx", w, " ");
  c = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (d = 0; d < n; d++) { s = ""; k = 10 + int(rand() * 30);
    for (i = 0; i < k; i++) { if (rand() < 0.3) s = s w[1 + int(rand() * length(w))];
      else { l = 2 + int(rand() * 7); for (j = 0; j < l; j++) s = s substr(c, 1 + int(rand() * 36), 1) }
      s = s (rand() < 0.2 ? "!!! " : " ") }
    printf "{\"text\": \"%s\", \"id\": %d}\n", s, d } }' > "$work/low.jsonl"

out=$("$tool" quality train --high "$work/high.jsonl" --low "$work/low.jsonl" --model "$work/m1.json" --seed 7)
echo "$out"
acc=$(sed -n 's/^held-out accuracy \([0-9.]*\)$/\1/p' <<<"$out")
[ -n "$acc" ] || fail "no held-out accuracy printed"
awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || fail "held-out accuracy $acc < 0.9"
grep -q "trained on 270 high + 270 low documents (30 + 30 held out)" <<<"$out" || fail "split: $out"
"$tool" quality train --high "$work/high.jsonl" --low "$work/low.jsonl" --model "$work/m2.json" --seed 7 >/dev/null
cmp "$work/m1.json" "$work/m2.json" || fail "same seed, different model bytes"
"$tool" quality train --high "$work/high.jsonl" --low "$work/low.jsonl" --model "$work/m3.json" --seed 8 >/dev/null
cmp -s "$work/m1.json" "$work/m3.json" && fail "another seed, the same model"
head -c 200 "$work/m1.json" | grep -q '^{"format":"mtnlg-quality-classifier","version":1,"features":{"count":1048576,' \
  || fail "model header: $(head -c 200 "$work/m1.json")"

# Scoring: every document (the empty one too) gets a probability; high documents score high.
"$tool" quality score --model "$work/m1.json" --input "$fixtures/docs.jsonl" --output "$work/scored.jsonl" \
  | grep -q "scored 4 documents" || fail "score count"
[ "$(wc -l <"$work/scored.jsonl")" = 4 ] || fail "scored lines: $(cat "$work/scored.jsonl")"
grep -q '^{"text":"","id":2,"quality_score":0\.[0-9e-]*}$' "$work/scored.jsonl" || fail "empty document: $(cat "$work/scored.jsonl")"
grep -q '^{"id":4,"text":"naïve café 日本語 🙂","quality_score":' "$work/scored.jsonl" || fail "key order or UTF-8 lost"
"$tool" quality score --model "$work/m1.json" --input "$work/high.jsonl" --output "$work/high_scored.jsonl" >/dev/null
"$tool" quality score --model "$work/m1.json" --input "$work/low.jsonl" --output "$work/low_scored.jsonl" >/dev/null
mean() { sed 's/.*"quality_score":\([^}]*\)}$/\1/' "$1" | awk '{ s += $1 } END { printf "%.3f", s / NR }'; }
hi=$(mean "$work/high_scored.jsonl") lo=$(mean "$work/low_scored.jsonl")
awk -v h="$hi" -v l="$lo" 'BEGIN { exit !(h > 0.8 && l < 0.2) }' || fail "mean scores high $hi low $lo"

# Filtering: GPT-3's Pareto rule, seeded; kept lines are input lines, unchanged and in order.
cat "$work/high.jsonl" "$work/low.jsonl" > "$work/mixed.jsonl"
out=$("$tool" quality filter --model "$work/m1.json" --input "$work/mixed.jsonl" --output "$work/kept1.jsonl" \
  --rule pareto --alpha 9 --seed 5 --scores "$work/scores1.jsonl")
echo "$out"
grep -Eq "^kept [0-9]+ of 600 documents" <<<"$out" || fail "filter summary: $out"
"$tool" quality filter --model "$work/m1.json" --input "$work/mixed.jsonl" --output "$work/kept2.jsonl" \
  --seed 5 --scores "$work/scores2.jsonl" >/dev/null
cmp "$work/kept1.jsonl" "$work/kept2.jsonl" || fail "same seed, different kept documents"
cmp "$work/scores1.jsonl" "$work/scores2.jsonl" || fail "same seed, different scores"
[ "$(grep -Fxvf "$work/mixed.jsonl" "$work/kept1.jsonl" | wc -l)" = 0 ] || fail "a kept line was changed"
[ "$(wc -l <"$work/scores1.jsonl")" = 600 ] || fail "one score per document"
kept=$(wc -l <"$work/kept1.jsonl") marked=$(grep -c '"kept":true' "$work/scores1.jsonl")
[ "$kept" = "$marked" ] || fail "kept $kept documents but $marked marked kept"
head -1 "$work/scores1.jsonl" | grep -Eq '^\{"line":1,"quality_score":[0-9.e-]+,"kept":(true|false)\}$' \
  || fail "scores format: $(head -1 "$work/scores1.jsonl")"
# Most high documents (score ~1) are kept, few junk ones (score ~0: kept with probability 2^-9).
khigh=$(grep -Fxf "$work/high.jsonl" "$work/kept1.jsonl" | wc -l)
[ "$khigh" -ge 250 ] && [ "$((kept - khigh))" -le 20 ] || fail "kept $khigh high and $((kept - khigh)) low"

# The threshold rule.
"$tool" quality filter --model "$work/m1.json" --input "$work/mixed.jsonl" --output "$work/kept_t.jsonl" \
  --rule threshold --threshold 0.5 | grep -Eq "^kept [0-9]+ of 600" || fail "threshold summary"
thr=$(sed -n 's/.*"quality_score":\([^,]*\),.*/\1/p' "$work/scores1.jsonl" | awk '$1 >= 0.5' | wc -l)
[ "$(wc -l <"$work/kept_t.jsonl")" = "$thr" ] || fail "threshold kept $(wc -l <"$work/kept_t.jsonl"), want $thr"

# A failed run (malformed line 3) leaves the earlier output as it was and no temporary file.
cp "$work/kept1.jsonl" "$work/before.jsonl"
set +e
err=$("$tool" quality filter --model "$work/m1.json" --input "$fixtures/bad_json.jsonl" --output "$work/kept1.jsonl" \
  --scores "$work/scores_fail.jsonl" 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit $rc on bad input"
grep -q "bad_json.jsonl:3: not a JSON object" <<<"$err" || fail "message: $err"
cmp "$work/kept1.jsonl" "$work/before.jsonl" || fail "a failed run changed the earlier output"
ls "$work" | grep -Eq 'tmp|scores_fail' && fail "left behind: $(ls "$work")"
echo "OK"
