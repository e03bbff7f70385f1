#!/usr/bin/env bash
# generate_kv_cache.sh MTNLG RECIPE WORK — `mtnlg generate` with the key-value cache against the same command
# recomputing the whole context per token (--no-kv-cache), on an f64 model trained for two steps: every
# generated position's logits within 1e-9 of the largest, the same greedy and sampled text; a generation
# past model.seq_len (the cache restarts from the recent half); --stop cutting the text before the first stop
# sequence; prefill and decode tokens/s on stderr; bad --stop refused.
set -euo pipefail
mtnlg=$1 recipe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
py=/usr/bin/python3
"$mtnlg" train "$recipe" --steps 2 --set train.dtype=f64 --set model.seq_len=16 --set train.eval_interval=0 \
  --run-dir "$work/run" >"$work/train.log" 2>&1 || fail "training: $(tail -5 "$work/train.log")"
ckpt=$work/run/checkpoint
# 5 prompt tokens + 10 generated stay within the 16 positions: both paths see the same context throughout.
gen=("$mtnlg" generate "$ckpt" --prompt "In the beginning God created" --max-tokens 10)

# same_logits A.bin B.bin: the two logit dumps agree to 1e-9 of the largest (tests/reference/same_logits.py).
same_logits() {
  $py "$(dirname "$0")/../reference/same_logits.py" "$1" "$2" || fail "logits of $2 differ from $1"
}

"${gen[@]}" --temperature 0 --no-kv-cache --dump-logits "$work/full.bin" >"$work/full.txt" 2>"$work/full.err"
"${gen[@]}" --temperature 0 --dump-logits "$work/kv.bin" >"$work/kv.txt" 2>"$work/kv.err"
cat "$work/kv.txt" "$work/kv.err" "$work/full.err"
same_logits "$work/full.bin" "$work/kv.bin"
cmp -s "$work/full.txt" "$work/kv.txt" || fail "greedy text differs: $(cat "$work/full.txt") / $(cat "$work/kv.txt")"
grep -Eq "key-value cache on TP 1 x PP 1 x DP 1 \(1 rank\); prefill 5 tokens in [0-9.]+ s \([0-9.]+ tokens/s\), decode 9 tokens in [0-9.]+ s \([0-9.]+ tokens/s\)" \
  "$work/kv.err" || fail "no tokens/s line: $(cat "$work/kv.err")"

sampled=(--temperature 0.9 --top-k 40 --top-p 0.95 --seed 7)
"${gen[@]}" "${sampled[@]}" --no-kv-cache >"$work/full-s.txt" 2>/dev/null
"${gen[@]}" "${sampled[@]}" >"$work/kv-s.txt" 2>/dev/null
cmp -s "$work/full-s.txt" "$work/kv-s.txt" || fail "sampled text differs"

# Past model.seq_len: 40 tokens after 5, so the cache fills and restarts (prefills of its recent 8 positions after the prompt's 5).
"$mtnlg" generate "$ckpt" --prompt "In the beginning God created" --max-tokens 40 --temperature 0 \
  >"$work/long.txt" 2>"$work/long.err" || fail "a generation past seq_len: $(cat "$work/long.err")"
grep -Eq "prefill ([6-9]|[1-9][0-9]+) tokens" "$work/long.err" || fail "no cache restart past seq_len: $(cat "$work/long.err")"

# --stop: the text is the greedy one cut before the first occurrence of a stop sequence.
stop=$($py -c 'import sys; t = open(sys.argv[1]).read()[len("In the beginning God created"):]; print(t[3:6])' "$work/kv.txt")
[ -n "$stop" ] || fail "the greedy continuation is too short to pick a stop sequence from"
"${gen[@]}" --temperature 0 --stop "no such text" --stop "$stop" >"$work/stop.txt" 2>/dev/null
$py - "$work/kv.txt" "$work/stop.txt" "$stop" <<'PY' || fail "--stop '$stop' gave $(cat "$work/stop.txt")"
import sys
full, cut, stop = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3]
prompt = "In the beginning God created"
expected = prompt + full[len(prompt):].split(stop)[0] + "\n"
assert cut == expected, (cut, expected)
PY

if "${gen[@]}" --stop "" >"$work/err" 2>&1; then fail "an empty --stop was accepted"; fi
grep -q -- "--stop must not be empty" "$work/err" || fail "unexpected: $(cat "$work/err")"
echo PASS
