#!/usr/bin/env bash
# recompute_metrics.sh MTNLG RECIPE RUN_DIR — one step of RECIPE (a GPT) with full recomputation of every block:
# metrics.jsonl's hardware_tflops_per_device over tflops_per_device (the same step time) must be Narayanan et
# al.'s 96·(1 + s/6h + V/16lh) over 72·(1 + s/6h + V/12lh); at debug level the step's peak memory is logged.
set -euo pipefail
mtnlg=$1 recipe=$2 run=$3
rm -rf "$run"
out=$("$mtnlg" --log-level debug train "$recipe" --steps 1 --run-dir "$run" --set train.recompute=full \
  --set train.eval_interval=0 2>&1)
fail() { printf 'FAIL: %s\n--- output ---\n%s\n' "$1" "$out"; exit 1; }
grep -q "activation recomputation full (every block)" <<<"$out" || fail "the log does not name the recomputation"
grep -Eq "memory: pipeline stage 0 \(tp 0, dp 0\), first step: peak [0-9]+ B above the [0-9]+ B live" <<<"$out" ||
  fail "no debug line with the first step's peak memory"
"$mtnlg" check "$recipe" --print > "$run/resolved.toml"
value() { sed -n "s/^$1 = \([0-9]*\).*/\1/p" "$run/resolved.toml" | head -1; }
s=$(value seq_len) h=$(value hidden) l=$(value layers) V=$(value padded_vocab)
awk -v line="$(head -1 "$run/metrics.jsonl")" -v s="$s" -v h="$h" -v l="$l" -v V="$V" 'BEGIN {
  match(line, /"tflops_per_device": [0-9.e+-]+/); model = substr(line, RSTART + 21, RLENGTH - 21)
  match(line, /"hardware_tflops_per_device": [0-9.e+-]+/); hw = substr(line, RSTART + 30, RLENGTH - 30)
  want = 96 * (1 + s / (6 * h) + V / (16 * l * h)) / (72 * (1 + s / (6 * h) + V / (12 * l * h)))
  got = hw / model
  printf "hardware / model TFLOP/s = %.9f, expected %.9f (s %d, h %d, l %d, V %d)\n", got, want, s, h, l, V
  exit (got - want > 1e-9 * want || want - got > 1e-9 * want) ? 1 : 0
}' || fail "hardware_tflops_per_device is not the full-recomputation count: $(head -1 "$run/metrics.jsonl")"
