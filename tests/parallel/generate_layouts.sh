#!/usr/bin/env bash
# generate_layouts.sh MTNLG RECIPE WORK — `mtnlg generate` with the key-value cache under mpirun on TP 2, PP 2
# and TP 2 × PP 2 gives one process's tokens: the same greedy and sampled text, and every generated position's
# logits within 1e-9 of the largest (f64 model trained for two steps); a layout that does not fit, and a
# damaged checkpoint, are refused.
set -euo pipefail
mtnlg=$1 recipe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
mpi=(mpirun --allow-run-as-root --oversubscribe)
py=/usr/bin/python3
"$mtnlg" train "$recipe" --steps 2 --set train.dtype=f64 --set model.seq_len=16 --set train.eval_interval=0 \
  --run-dir "$work/run" >"$work/train.log" 2>&1 || fail "training: $(tail -5 "$work/train.log")"
gen=(generate "$work/run/checkpoint" --prompt "In the beginning God created" --max-tokens 10)
sampled=(--temperature 0.9 --top-k 40 --top-p 0.95 --seed 7)
"$mtnlg" "${gen[@]}" --temperature 0 --dump-logits "$work/one.bin" >"$work/one.txt" 2>/dev/null
"$mtnlg" "${gen[@]}" "${sampled[@]}" >"$work/one-s.txt" 2>/dev/null
cat "$work/one.txt"
for layout in "2 --tensor 2" "2 --pipeline 2" "4 --tensor 2 --pipeline 2"; do
  read -r ranks flags <<<"$layout"
  name=np$ranks$(tr -d ' -' <<<"$flags")
  # shellcheck disable=SC2086
  "${mpi[@]}" -np "$ranks" "$mtnlg" "${gen[@]}" --temperature 0 $flags --dump-logits "$work/$name.bin" \
    >"$work/$name.txt" 2>"$work/$name.err" || fail "$name: $(tail -5 "$work/$name.err")"
  cmp -s "$work/one.txt" "$work/$name.txt" || fail "$name: greedy text $(cat "$work/$name.txt")"
  $py "$(dirname "$0")/../reference/same_logits.py" "$work/one.bin" "$work/$name.bin" || fail "$name: logits differ"
  grep -q "key-value cache on TP" "$work/$name.err" || fail "$name: no tokens/s line"
  # shellcheck disable=SC2086
  "${mpi[@]}" -np "$ranks" "$mtnlg" "${gen[@]}" "${sampled[@]}" $flags >"$work/$name-s.txt" 2>/dev/null ||
    fail "$name: sampling failed"
  cmp -s "$work/one-s.txt" "$work/$name-s.txt" || fail "$name: sampled text $(cat "$work/$name-s.txt")"
  echo "$name: $(grep -o 'prefill.*' "$work/$name.err")"
done
# Every rank finds it before waiting for another (mpirun may end the others before they print).
if timeout 120 "${mpi[@]}" -np 3 "$mtnlg" "${gen[@]}" --tensor 3 >"$work/err" 2>&1; then fail "TP 3 of 4 heads accepted"; fi
grep -q "parallel.tensor = 3 does not divide model.heads = 4" "$work/err" || fail "TP 3: $(cat "$work/err")"
# A damaged checkpoint is refused on a multi-rank layout too (each rank reads its slices): the file and reason.
damaged() {  # PATTERN: the last command's output must match
  if timeout 120 "${mpi[@]}" -np 2 "$mtnlg" generate "$work/damaged" --max-tokens 2 --tensor 2 >"$work/err" 2>&1; then
    fail "a damaged checkpoint was accepted"
  fi
  grep -Eq -- "$1" "$work/err" || fail "expected /$1/, got: $(cat "$work/err")"
}
rm -rf "$work/damaged" && cp -r "$work/run/checkpoint" "$work/damaged"
truncate -s 1000 "$work/damaged/parameters.bin"
damaged "damaged/parameters.bin: too short for parameter [0-9]+\.[a-z_.]+ "
cp "$work/run/checkpoint/parameters.bin" "$work/damaged/parameters.bin"
sed -i 's/name = "0.position_embeddings"/name = "0.positions"/' "$work/damaged/manifest.toml"
damaged "damaged/manifest.toml: no parameter 0.position_embeddings: the checkpoint is of a different model"
cp "$work/run/checkpoint/manifest.toml" "$work/damaged/manifest.toml"
sed -i 's/^dtype = "f64"/dtype = "f32"/' "$work/damaged/manifest.toml"
damaged "damaged/manifest.toml: parameters are f32, the model is f64"
echo PASS
