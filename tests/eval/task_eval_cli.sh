#!/usr/bin/env bash
# task_eval_cli.sh MTNLG RECIPE FIXTURES CHECK_PY WORK — `mtnlg eval CKPT --task ...` as a user runs it: an f64
# model trained for two steps, each task's fixture evaluated zero- and few-shot with --json, every
# loglikelihood and metric recomputed in PyTorch (tests/reference/task_eval_check.py); the few-shot draws; and
# every bad input refused with its message, leaving no JSON behind.
set -euo pipefail
mtnlg=$1 recipe=$2 fixtures=$3 check=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
"$mtnlg" train "$recipe" --steps 2 --set train.dtype=f64 --set train.eval_interval=0 --run-dir "$work/run" \
  >"$work/train.log" 2>&1 || fail "training: $(tail -5 "$work/train.log")"
ckpt=$work/run/checkpoint
py=/usr/bin/python3

# Every task zero-shot; RACE's and the few-shot prompts are longer than model.seq_len = 64 tokens, so the
# truncation from the left is exercised too.
for task in lambada boolq race piqa hellaswag winogrande anli hans wic; do
  "$mtnlg" eval "$ckpt" --task $task --data "$fixtures/$task.jsonl" --json "$work/$task-0.json" >"$work/$task-0.out"
  cat "$work/$task-0.out"
  $py "$check" "$ckpt" "$work/$task-0.json"
done
grep -q "^| Commonsense reasoning | PiQA | [0-9.]* |$" "$work/piqa-0.out" || fail "no Figure 3 row for PiQA"
grep -q "^| Category | Tasks | Zero-shot |$" "$work/piqa-0.out" || fail "no Figure 3 header"
grep -q "acc_norm" "$work/piqa-0.out" || fail "PiQA without acc_norm"
grep -q "ppl" "$work/lambada-0.out" || fail "LAMBADA without ppl"
# The PiQA fixture pairs a short and a long solution: total and per-character loglikelihoods disagree.
$py -c 'import json, sys; items = json.load(open(sys.argv[1]))["items"]
sys.exit(0 if any(i["pred"] != i["pred_norm"] for i in items) else "no document where acc and acc_norm pick differently")' \
  "$work/piqa-0.json"

# Few-shot, the pool being the evaluated file itself: the evaluated document is never among its examples,
# the same seed draws the same examples, another seed others.
for task in piqa winogrande lambada race; do
  "$mtnlg" eval "$ckpt" --task $task --data "$fixtures/$task.jsonl" --shots 2 --fewshot-data "$fixtures/$task.jsonl" \
    --seed 5 --json "$work/$task-2.json" | grep -q "Few-shot (2)" || fail "$task 2-shot table"
  $py "$check" "$ckpt" "$work/$task-2.json"
  $py -c 'import json, sys; items = json.load(open(sys.argv[1]))["items"]
for i in items:
    assert len(i["fewshot_lines"]) == 2 and i["line"] not in i["fewshot_lines"], i["fewshot_lines"]
    assert all(r["context"].count("\n\n") >= 2 for r in i["requests"])' "$work/$task-2.json" ||
    fail "$task: few-shot examples"
done
"$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 2 --fewshot-data "$fixtures/piqa.jsonl" \
  --seed 5 --json "$work/again.json" >/dev/null
cmp -s "$work/piqa-2.json" "$work/again.json" || fail "the same seed drew other examples"
draws() { $py -c 'import json, sys; print([i["fewshot_lines"] for i in json.load(open(sys.argv[1]))["items"]])' "$1"; }
for seed in 6 7 8 9; do
  "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 2 --fewshot-data "$fixtures/piqa.jsonl" \
    --seed $seed --json "$work/seed$seed.json" >/dev/null
done
[ "$(for s in 6 7 8 9; do draws "$work/seed$s.json"; done | sort -u | wc -l)" -gt 1 ] || fail "seeds draw alike"

# --batch changes nothing but rounding (f64); --limit takes the first documents.
"$mtnlg" eval "$ckpt" --task hellaswag --data "$fixtures/hellaswag.jsonl" --batch 1 --json "$work/b1.json" >/dev/null
$py -c 'import json, sys
a, b = (json.load(open(p))["items"] for p in sys.argv[1:])
x = [r["loglikelihood"] for i in a for r in i["requests"]]
y = [r["loglikelihood"] for i in b for r in i["requests"]]
sys.exit(0 if all(abs(p - q) <= 1e-9 * abs(p) for p, q in zip(x, y)) and len(x) == len(y) else f"{x} != {y}")' \
  "$work/hellaswag-0.json" "$work/b1.json"
"$mtnlg" eval "$ckpt" --task race --data "$fixtures/race.jsonl" --limit 2 | grep -q "race: 2 documents" || fail "--limit 2"

# Bad input: a message naming what is wrong, a non-zero exit, no JSON.
expect_error() {  # PATTERN COMMAND...
  local pattern=$1; shift
  rm -f "$work/err.json"
  if "$@" --json "$work/err.json" >"$work/err" 2>&1; then fail "succeeded: $*"; fi
  grep -Eq -- "$pattern" "$work/err" || fail "expected /$pattern/ from $*, got: $(cat "$work/err")"
  [ ! -e "$work/err.json" ] && [ -z "$(ls "$work" | grep 'err.json.tmp' || true)" ] || fail "a JSON was left by $*"
}
expect_error "unknown task 'squad' \(known tasks: lambada, boolq, race, piqa, hellaswag, winogrande, anli, hans, wic\)" \
  "$mtnlg" eval "$ckpt" --task squad --data "$fixtures/piqa.jsonl"
printf '%s\n' '{"goal": "g", "sol1": "a", "sol2": "b", "label": 0}' '{"goal": "g", "sol1": "a", "label": 1}' \
  >"$work/missing.jsonl"
expect_error "missing.jsonl:2: task 'piqa': missing field 'sol2'" \
  "$mtnlg" eval "$ckpt" --task piqa --data "$work/missing.jsonl"
expect_error "missing.jsonl:2: task 'piqa': missing field 'sol2'" \
  "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 1 --fewshot-data "$work/missing.jsonl"
printf '%s\n' '{"sentence": "no blank here", "option1": "a", "option2": "b", "answer": "1"}' >"$work/noblank.jsonl"
expect_error "noblank.jsonl:1: task 'winogrande': field 'sentence' has no '_' blank" \
  "$mtnlg" eval "$ckpt" --task winogrande --data "$work/noblank.jsonl"
expect_error "--shots 5 but .*piqa.jsonl has only 3 documents to draw few-shot examples from" \
  "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 5 --fewshot-data "$fixtures/piqa.jsonl"
expect_error "piqa.jsonl:1: --shots 3 but .*piqa.jsonl has only 2 few-shot documents other than the evaluated one" \
  "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 3 --fewshot-data "$fixtures/piqa.jsonl"
expect_error "--shots 1 needs --fewshot-data FILE.jsonl" \
  "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --shots 1
: >"$work/empty.jsonl"
expect_error "empty.jsonl: no examples \(an empty file\)" "$mtnlg" eval "$ckpt" --task piqa --data "$work/empty.jsonl"
printf '%s\n' '{"goal": "g", "sol1": "a", "sol2": "b", "label": 0}' '{"goal": ' >"$work/broken.jsonl"
expect_error "broken.jsonl:2: not valid JSON" "$mtnlg" eval "$ckpt" --task piqa --data "$work/broken.jsonl"
expect_error "--task piqa needs --data FILE.jsonl" "$mtnlg" eval "$ckpt" --task piqa
"$mtnlg" eval "$ckpt" >"$work/err" 2>&1 && fail "eval without --task or --perplexity succeeded"
grep -q "mtnlg eval needs --perplexity PREFIX or --task NAME" "$work/err" || fail "no --task: $(cat "$work/err")"
# A failure after the model has run (the output directory is missing) leaves nothing either.
if "$mtnlg" eval "$ckpt" --task piqa --data "$fixtures/piqa.jsonl" --json "$work/no/such/dir/out.json" >"$work/err" 2>&1; then
  fail "writing into a missing directory succeeded"
fi
grep -q "cannot write .*no/such/dir/out.json" "$work/err" || fail "unwritable --json: $(cat "$work/err")"
echo "mtnlg eval --task matches PyTorch on every task; few-shot draws and errors as documented"
