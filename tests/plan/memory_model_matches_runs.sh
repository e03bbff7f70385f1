#!/usr/bin/env bash
# memory_model_matches_runs.sh MTNLG MPIEXEC RECIPE WORK — the planner's memory per pipeline stage against the
# peak a real run allocates on each rank, for several layouts of the tiny model on the CPU backend (one "node" of
# the cpu-laptop cluster is one rank). The real number is the backend's allocation peak over the first step,
# which every rank logs at debug level; the planner's is its meta-backend simulation of the same stage. They
# must agree within 10% on every stage of every layout.
set -euo pipefail
mtnlg=$1 mpiexec=$2 recipe=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
# A model big enough that activations matter next to the parameters, and more micro-batches than stages.
shape=(--set model.hidden=64 --set model.heads=4 --set model.layers=4 --set model.seq_len=32
       --set train.micro_batch=2 --set train.global_batch=16 --set train.eval_interval=0)

check_layout() {  # NAME RANKS [--set ...]
  local name=$1 ranks=$2
  shift 2
  local log=$work/$name.log json=$work/$name.json
  OPENBLAS_NUM_THREADS=1 "$mpiexec" --allow-run-as-root --oversubscribe -np "$ranks" "$mtnlg" --log-level debug \
    train "$recipe" --steps 1 --run-dir "$work/$name-run" "${shape[@]}" "$@" > "$log" 2>&1 ||
    { cat "$log"; fail "$name: training failed"; }
  "$mtnlg" plan "$recipe" --cluster cpu-laptop --nodes "$ranks" "${shape[@]}" "$@" --json "$json" \
    > "$work/$name.plan" 2>&1 || { cat "$work/$name.plan"; fail "$name: plan failed"; }
  python3 - "$log" "$json" "$name" <<'PY'
import json, re, sys
log, plan, name = sys.argv[1:]
# "memory: pipeline stage S (tp 0, dp 0), first step: peak X B above the Y B live before it"
measured = {}
for m in re.finditer(r"memory: pipeline stage (\d+) \(tp 0, dp 0\), first step: peak (\d+) B above the (\d+) B", open(log).read()):
    measured[int(m.group(1))] = int(m.group(2)) + int(m.group(3))
predicted = {s["stage"]: s["total_bytes"] for s in json.load(open(plan))["memory"]["stages"]}
if not measured or set(measured) != set(predicted):
    sys.exit(f"FAIL: {name}: stages measured {sorted(measured)} vs planned {sorted(predicted)}")
worst = 0.0
for s in sorted(predicted):
    err = predicted[s] / measured[s] - 1.0
    worst = max(worst, abs(err))
    print(f"{name}: stage {s}: planned {predicted[s]} B, measured {measured[s]} B ({100 * err:+.2f}%)")
if worst > 0.10:
    sys.exit(f"FAIL: {name}: the plan is {100 * worst:.1f}% off (more than 10%)")
PY
}

check_layout one-rank 1
check_layout tp2 2 --set parallel.tensor=2
check_layout pp2 2 --set parallel.pipeline=2
check_layout pp4-recompute 4 --set parallel.pipeline=4 --set train.recompute=full
check_layout tp2-pp2-dp2-zero 8 --set parallel.tensor=2 --set parallel.pipeline=2 --set parallel.zero=1
echo "ok: the planned memory of every stage is within 10% of the real runs'"
