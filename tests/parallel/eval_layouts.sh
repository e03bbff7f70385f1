#!/usr/bin/env bash
# eval_layouts.sh MTNLG MTNLG_DATA RECIPE FIXTURES WORK — `mtnlg eval` under mpirun on tensor, pipeline and
# data-parallel layouts chosen at eval time gives one process's numbers: an f64 model trained for two steps,
# PiQA (acc and acc_norm) zero-shot on TP 2, PP 2, TP 2 × PP 2 and DP 3 and LAMBADA two-shot on TP 2 × PP 2, every
# request's loglikelihood within 1e-9 (relative) of one process's and the same greedy flags, and the
# perplexity likewise; a layout that does not fit the model or the world is refused on every rank with its
# reason and a non-zero exit, without hanging.
set -euo pipefail
mtnlg=$1 mtnlg_data=$2 recipe=$3 fixtures=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
mpi=(mpirun --allow-run-as-root --oversubscribe)
py=/usr/bin/python3
# 4 heads, 2 blocks: TP 2 and PP 2 both fit.
"$mtnlg" train "$recipe" --steps 2 --set train.dtype=f64 --set train.eval_interval=0 \
  --run-dir "$work/run" >"$work/train.log" 2>&1 || fail "training: $(tail -5 "$work/train.log")"
ckpt=$work/run/checkpoint

# same_scores A.json B.json: every request's loglikelihood within 1e-9 (relative), the same greedy flags and
# the same metrics.
same_scores() {
  $py - "$1" "$2" <<'EOF' || fail "$2 differs from $1"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
ra = [r for i in a["items"] for r in i["requests"]]
rb = [r for i in b["items"] for r in i["requests"]]
assert len(ra) == len(rb) > 0, (len(ra), len(rb))
worst = 0.0
for x, y in zip(ra, rb):
    assert x["context"] == y["context"] and x["continuation"] == y["continuation"]
    assert x["is_greedy"] == y["is_greedy"], (x, y)
    worst = max(worst, abs(x["loglikelihood"] - y["loglikelihood"]) / abs(x["loglikelihood"]))
assert worst <= 1e-9, f"loglikelihoods differ by {worst:.3g} (relative)"
assert a["metrics"] == b["metrics"], (a["metrics"], b["metrics"])
print(f"  {b['layout']}: {len(rb)} requests, worst relative difference {worst:.2e}, metrics {b['metrics']}")
EOF
}

for task in piqa lambada; do
  shots=0
  [ $task = lambada ] && shots=2
  args=(--task $task --data "$fixtures/$task.jsonl" --shots $shots --fewshot-data "$fixtures/$task.jsonl" --batch 2)
  "$mtnlg" eval "$ckpt" "${args[@]}" --json "$work/$task-1.json" >"$work/$task-1.out"
  echo "$task, one process: $(tail -1 "$work/$task-1.out")"
  layouts=("2 --tensor 2" "2 --pipeline 2" "4 --tensor 2 --pipeline 2" "3")
  [ $task = lambada ] && layouts=("4 --tensor 2 --pipeline 2")  # few-shot: longer contexts, one layout
  for layout in "${layouts[@]}"; do
    read -r ranks flags <<<"$layout"
    name=$task-$(tr -d ' -' <<<"np$ranks$flags")
    # shellcheck disable=SC2086
    "${mpi[@]}" -np "$ranks" "$mtnlg" eval "$ckpt" "${args[@]}" $flags --json "$work/$name.json" \
      >"$work/$name.out" 2>&1 || fail "$name: $(tail -5 "$work/$name.out")"
    # Only world rank 0 prints the table.
    [ "$(grep -c '^| Category' "$work/$name.out")" = 1 ] || fail "$name: the table is not printed once"
    same_scores "$work/$task-1.json" "$work/$name.json"
  done
done
grep -q '"layout": "TP 2 x PP 2 x DP 1 (4 ranks)"' "$work/piqa-np4tensor2pipeline2.json" || fail "layout not recorded"
grep -q "on TP 1 x PP 1 x DP 3 (3 ranks)" "$work/piqa-np3.out" || fail "DP 3 not reported"

# Perplexity: the same mean loss on every layout (64-token windows: 12 short documents give 3).
for i in $(seq 1 12); do
  echo "{\"text\": \"Document $i: the quick brown fox jumps over the lazy dog $i times, then rests by the river.\"}"
done >"$work/docs.jsonl"
"$mtnlg_data" tokenize --input "$work/docs.jsonl" --output-prefix "$work/docs" --append-eod >/dev/null
data=$work/docs_text_document
loss_of() { grep -o 'mean loss [0-9.]*' "$1" | cut -d' ' -f3; }
"$mtnlg" eval "$ckpt" --perplexity "$data" --batch 2 >"$work/ppl-1.out"
for layout in "4 --tensor 2 --pipeline 2" "3"; do
  read -r ranks flags <<<"$layout"
  # shellcheck disable=SC2086
  "${mpi[@]}" -np "$ranks" "$mtnlg" eval "$ckpt" --perplexity "$data" --batch 2 $flags >"$work/ppl.out" 2>&1 ||
    fail "perplexity on $layout: $(tail -5 "$work/ppl.out")"
  [ "$(grep -c 'mean loss' "$work/ppl.out")" = 1 ] || fail "perplexity on $layout: not printed once"
  $py -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1e-9 * a)" \
    "$(loss_of "$work/ppl-1.out")" "$(loss_of "$work/ppl.out")" ||
    fail "perplexity on $layout: $(loss_of "$work/ppl.out"), one process $(loss_of "$work/ppl-1.out")"
  echo "perplexity on -np $ranks $flags: $(loss_of "$work/ppl.out") (one process $(loss_of "$work/ppl-1.out"))"
done

# Layouts that cannot work: refused on every rank with the reason, a non-zero exit, within the timeout.
expect_refusal() {  # PATTERN RANKS FLAGS...
  local pattern=$1 ranks=$2; shift 2
  if timeout 120 "${mpi[@]}" -np "$ranks" "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" "$@" \
    >"$work/err" 2>&1; then fail "accepted: -np $ranks $*"; fi
  # Every rank finds it before waiting for another; mpirun may end the others before they print it.
  grep -Eq -- "$pattern" "$work/err" || fail "expected /$pattern/ for -np $ranks $*, got: $(cat "$work/err")"
}
expect_refusal "parallel.tensor = 3 does not divide model.heads = 4" 3 --tensor 3
expect_refusal "the world of 3 ranks is not a multiple of --tensor 2 x --pipeline 1 = 2" 3 --tensor 2
expect_refusal "--tensor and --pipeline must be at least 1" 2 --pipeline 0
expect_refusal "the model.s 2 .transformer_block. layers do not divide among 4 pipeline stages" 4 --pipeline 4
echo "PASS"
