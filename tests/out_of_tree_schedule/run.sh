#!/usr/bin/env bash
# run.sh MTNLG_BUILD_DIR SOURCE_DIR WORK_DIR
# A third party's pipeline schedule: install mtnlg to a prefix, build the schedule plugin against it with
# find_package(mtnlg), and have the installed host check a 4-stage pipeline with it, without rebuilding mtnlg.
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
echo "out-of-tree schedule: built against the installed SDK, checked by the installed host"
