#!/usr/bin/env bash
# run.sh MTNLG_BUILD_DIR SOURCE_DIR WORK_DIR
# A third party's pipeline schedule: install mtnlg to a prefix, build the schedule plugin against it with
# find_package(mtnlg), and have the installed host check a 4-stage pipeline with it, then train with it on 2
# pipeline stages under mpirun — selected by name, without rebuilding mtnlg.
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/out_of_tree_schedule/plugin" -B "$work/plugin-build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/plugin-build" >/dev/null
mtnlg=$work/prefix/bin/mtnlg

fail() { echo "FAIL: $*"; exit 1; }
out=$(MTNLG_PLUGIN_PATH="$work/plugin-build" "$mtnlg" check "$src/recipes/tiny-counting.toml" --world 4 \
  --set parallel.pipeline=4 --set model.layers=4 --set parallel.schedule=reversed 2>&1) ||
  fail "check exited $?: $out"
echo "$out"
grep -Eq "pipeline +TP 1 x PP 4 x DP 1 \(4 ranks\), schedule reversed" <<<"$out" || fail "no pipeline section"
for stage in 0 1 2 3; do
  grep -Eq "stage $stage +[0-9]+ instructions, 2 forwards / 2 backwards" <<<"$out" || fail "stage $stage missing"
done
grep -Eq "bubble +[0-9.]+%" <<<"$out" || fail "no simulated bubble"

# Train with it, and with the stock 1f1b: the same micro-batches, each chunk's backward in a different order,
# so the losses agree to rounding.
train() {
  MTNLG_PLUGIN_PATH="$work/plugin-build" mpirun --allow-run-as-root --oversubscribe -np 2 "$mtnlg" train \
    "$src/tests/parallel/equivalence.toml" --steps 3 --set parallel.pipeline=2 --run-dir "$work/$1" "${@:2}" 2>&1
}
out=$(train reversed --set parallel.schedule=reversed) || fail "training with the reversed schedule exited $?: $out"
grep -q "on TP 1 x PP 2 x DP 1" <<<"$out" || fail "not a 2-stage run: $out"
train stock > /dev/null || fail "training with 1f1b failed"
loss() { grep -o '"loss": [-0-9.e]*' "$work/$1/metrics.jsonl" | tail -1 | cut -d' ' -f2; }
awk -v a="$(loss reversed)" -v b="$(loss stock)" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-12 * (b < 0 ? -b : b)) }' ||
  fail "the reversed schedule's step-3 loss $(loss reversed) differs from 1f1b's $(loss stock)"
echo "trained 3 steps with it: step-3 loss $(loss reversed), 1f1b's $(loss stock)"
echo "out-of-tree schedule: built against the installed SDK, checked and trained with by the installed host"
