#!/usr/bin/env bash
# train_530b_shrunk.sh MTNLG MTNLG_DATA MPIEXEC RECIPE WORK — the stock MT-NLG 530B recipe trains for 3 steps on
# the CPU, shrunk with --set to a toy width and depth (4 blocks, hidden 64, 8 heads, seq 32) but keeping what
# makes it MT-NLG's: the 1F1B schedule, the batch ramp-up (32 samples a step at the start), AdamW with its
# betas, the token-based warm-up and cosine decay, bf16 mixed precision, full recomputation, the 15-dataset
# blend reader (pointed at two small tokenized datasets), the GPT-2 vocabulary padded to 51200. Under mpirun
# at TP 2 x PP 2, and on one process: the losses agree within bf16's tolerance.
set -euo pipefail
mtnlg=$1 mtnlg_data=$2 mpiexec=$3 recipe=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
for name in web books; do
  for i in $(seq 1 40); do
    echo "{\"text\": \"A $name document, number $i: the quick brown fox jumps over the lazy dog, and then it rests for $i minutes.\"}"
  done > "$work/$name.jsonl"
  "$mtnlg_data" tokenize --input "$work/$name.jsonl" --output-prefix "$work/$name" --append-eod > /dev/null
done
shrink=(--set model.layers=4 --set model.hidden=64 --set model.heads=8 --set model.seq_len=32
        --set backend.name=cpu --set parallel.communicator=mpi --set train.eval_interval=0
        --set "reader.datasets=[{name=\"web\", prefix=\"$work/web_text_document\", weight=19.3}, {name=\"books\", prefix=\"$work/books_text_document\", weight=14.3}]")
layout=(--set parallel.tensor=2 --set parallel.pipeline=2)
OPENBLAS_NUM_THREADS=1 "$mpiexec" --allow-run-as-root --oversubscribe -np 4 "$mtnlg" train "$recipe" --steps 3 \
  --run-dir "$work/tp2-pp2" "${shrink[@]}" "${layout[@]}" > "$work/tp2-pp2.log" 2>&1 ||
  { cat "$work/tp2-pp2.log"; fail "TP 2 x PP 2 run"; }
"$mtnlg" train "$recipe" --steps 3 --run-dir "$work/one" "${shrink[@]}" --set parallel.tensor=1 \
  --set parallel.pipeline=1 > "$work/one.log" 2>&1 || { cat "$work/one.log"; fail "one-process run"; }
[ -f "$work/tp2-pp2/checkpoints/latest" ] || fail "no checkpoint written"
python3 - "$work/tp2-pp2/metrics.jsonl" "$work/one/metrics.jsonl" <<'PY'
import json, math, sys
runs = [[json.loads(l) for l in open(f) if '"step"' in l] for f in sys.argv[1:]]
for rows in runs:
    assert [r["step"] for r in rows] == [1, 2, 3], rows
    for r in rows:
        # The ramp-up starts at 32 samples; the warm-up is 1B tokens: lr is 0 at the first step, tiny after.
        assert r["batch"] == 32, r
        assert math.isfinite(r["loss"]) and 9.0 < r["loss"] < 12.0, r
    assert rows[0]["lr"] == 0.0 and 0.0 < rows[1]["lr"] < rows[2]["lr"] < 1e-8, rows
for a, b in zip(*runs):
    print(f"step {a['step']}: loss TP2xPP2 {a['loss']:.5f}, one process {b['loss']:.5f}, batch {a['batch']}, lr {a['lr']:.3e}")
    assert abs(a["loss"] / b["loss"] - 1) < 5e-2, (a, b)
PY
# What was kept is what ran: the resolved recipe the run wrote.
for kept in 'dtype = "bf16"' 'recompute = "full"' 'schedule = "1f1b"' 'name = "rampup"' 'name = "blend"' \
    'beta2 = 0.95' 'warmup_tokens = 1000000000' 'padded_vocab = 51200'; do
  grep -qF "$kept" "$work/tp2-pp2/recipe.toml" || fail "the run's recipe.toml lacks: $kept"
done
echo "ok: the 530B recipe, shrunk, trains 3 steps at TP 2 x PP 2 with its schedule, ramp-up, optimizer and bf16"
