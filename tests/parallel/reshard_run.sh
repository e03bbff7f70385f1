#!/usr/bin/env bash
# reshard_run.sh MTNLG COMPARE WORK REFERENCE — a one-rank run stopped after 2 steps, its checkpoint resharded by
# `mtnlg convert --tensor 2 --pipeline 2`, resumed on 4 ranks (TP 2 × PP 2) from the converted checkpoint in
# the same run directory: the losses and final weights are the reference's (one rank, never interrupted) to
# summation order. A convert that cannot fit the model is refused with nothing written.
set -euo pipefail
mtnlg=$1 compare=$2 work=$3 reference=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
run=$work/reshard converted=$work/reshard-tp2-pp2
fail() { echo "FAIL: $*"; exit 1; }
rm -rf "$run" "$converted" "$work/reshard-tp3"
# eval_interval=0: the reference evaluates at step 5 only, and a run evaluates at its last step.
"$mtnlg" train "$here/equivalence.toml" --run-dir "$run" --steps 2 --set train.dtype=f64 --set train.eval_interval=0 > "$run.log" 2>&1 ||
  { cat "$run.log"; fail "the first run failed"; }
"$mtnlg" convert "$run" --tensor 2 --pipeline 2 "$converted"
shards=$(find "$converted" -name 'rank-*.bin' | wc -l)
[ "$shards" = 4 ] || fail "expected 4 shards, found $shards"
grep -q '^tensor = 2' "$converted/manifest.toml" || fail "the manifest does not say tensor = 2"
if out=$("$mtnlg" convert "$run" --tensor 3 "$work/reshard-tp3" 2>&1); then fail "TP 3 of 4 heads was accepted"; fi
grep -q "parallel.tensor = 3 does not divide model.heads = 4" <<<"$out" || fail "unexpected error: $out"
[ ! -e "$work/reshard-tp3" ] && [ ! -e "$work/reshard-tp3.tmp" ] || fail "a refused convert left files"
mpirun --allow-run-as-root --oversubscribe -np 4 "$mtnlg" train "$here/equivalence.toml" --resume "$converted" \
  --run-dir "$run" --set train.dtype=f64 --set parallel.tensor=2 --set parallel.pipeline=2 > "$run.resumed.log" 2>&1 ||
  { tail -30 "$run.resumed.log"; fail "the resumed run failed"; }
grep -m1 "resumed from" "$run.resumed.log"
"$compare" "$reference" "$run" --loss-rtol 1e-9 --weight-rtol 1e-9
