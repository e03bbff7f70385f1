#!/usr/bin/env bash
# hf_gpt2_convert.sh MTNLG RECIPE CHECK_PY WORK — `mtnlg convert` to and from Hugging Face's GPT-2 layout as a
# user runs it: a trained checkpoint exported (model.safetensors + config.json), its logits checked against the
# checkpoint's by tests/reference/hf_gpt2_check.py (PyTorch, float64), imported back into the recipe's model,
# the import exported again byte for byte, and greedy generation the same from the original and the import.
set -euo pipefail
mtnlg=$1 recipe=$2 check=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$mtnlg" train "$recipe" --steps 2 --set train.eval_interval=0 --run-dir "$work/run" >"$work/train.log" 2>&1 ||
  fail "training: $(tail -5 "$work/train.log")"
ckpt=$work/run/checkpoint

"$mtnlg" convert --to hf-gpt2 "$ckpt" "$work/hf" | grep -q "wrote $work/hf" || fail "no 'wrote' line"
[ -f "$work/hf/model.safetensors" ] && [ -f "$work/hf/config.json" ] || fail "export incomplete: $(ls "$work/hf")"
grep -q '"activation_function": "gelu_new"' "$work/hf/config.json" || fail "config: $(cat "$work/hf/config.json")"
grep -q '"vocab_size": 50257' "$work/hf/config.json" || fail "vocabulary not un-padded"
/usr/bin/python3 "$check" "$work/hf" "$ckpt"

# Back into the model of the checkpoint's recipe, then out again: the same bytes (a round trip from Hugging
# Face's side is bit-exact; from mtnlg's, the padded vocabulary rows, which no logit reads, come back zero).
"$mtnlg" convert --from hf-gpt2 "$work/hf" "$work/back" --recipe "$ckpt/recipe.toml" >/dev/null
"$mtnlg" convert --to hf-gpt2 "$work/back" "$work/hf2" >/dev/null
cmp "$work/hf/model.safetensors" "$work/hf2/model.safetensors" || fail "model.safetensors differs after a round trip"
cmp "$work/hf/config.json" "$work/hf2/config.json" || fail "config.json differs after a round trip"
/usr/bin/python3 "$check" "$work/hf" "$work/back"
a=$("$mtnlg" generate "$ckpt" --prompt "one two three" --max-tokens 6 --temperature 0 2>/dev/null)
b=$("$mtnlg" generate "$work/back" --prompt "one two three" --max-tokens 6 --temperature 0 2>/dev/null)
[ "$a" = "$b" ] || fail "greedy generation differs: '$a' vs '$b'"

# An output directory that already holds something is never touched.
mkdir -p "$work/full" && echo keep >"$work/full/file"
if "$mtnlg" convert --to hf-gpt2 "$ckpt" "$work/full" 2>"$work/err"; then fail "overwrote a full directory"; fi
grep -q "exists and is not an empty directory" "$work/err" || fail "message: $(cat "$work/err")"
[ "$(cat "$work/full/file")" = keep ] || fail "the directory was changed"
ls "$work" | grep -q '\.tmp$' && fail "temporary directory left behind: $(ls "$work")"
echo "export checked against the checkpoint's logits, round trip bit-exact, generation unchanged"
