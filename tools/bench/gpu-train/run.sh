#!/usr/bin/env bash
# GPU training benchmark: mtnlg's CUDA backend on recipes/bench/{gpt2-124m,gpt-1.3b}.toml (bf16 mixed
# precision, then f32/TF32) and PyTorch (torch_gpt2.py: eager and torch.compile, bf16 autocast and f32/TF32)
# on the 124M config, in one table; plus one short run of mtnlg 124M bf16 with the cuda backend's per-op GPU
# time (backend.profile_ops), whose top rows follow the table.
# Made for one short call on a lent GPU: every part runs under a time limit, the whole under a budget, and
# a part that fails (or runs out of time) becomes a FAILED row with the last lines of its log instead of
# ending the script. See README.md beside this file.
#
#   tools/bench/gpu-train/run.sh --mtnlg build/bin/mtnlg --scratch /tmp/gpu-train --out "$OUT/gpu-train"
#   tools/bench/gpu-train/run.sh --dry-run          # here, on the CPU at toy size: parsing and the table
#
# Exit status: 0 when every part gave a number, 3 when some row is FAILED/SKIPPED, 2 on bad arguments.
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"

MTNLG="${MTNLG:-}"
SCRATCH="${SCRATCH:-}"
OUT_DIR="${OUT_DIR:-}"
PY="${PYTHON:-python3}"
STEPS=10            # mtnlg steps per run; the first SKIP are warm-up
SKIP=2
TORCH_STEPS=20
TORCH_WARMUP=5
MB_124M="32 16 8 4"
MB_1P3B="4 2 1"
TORCH_MB=same       # same (mtnlg's 124M micro-batch, or less if it does not fit) | auto | N
TORCH_MAX_MB=64
TIMEOUT=120         # per part (each mtnlg micro-batch try, each PyTorch run)
BUDGET=540          # seconds for the whole script; parts that would start later are SKIPPED
MIN_PART=30         # a part needs at least this much of the budget left to start
MTNLG_TF32=on       # on | off | both: backend.tf32 of the f32 rows
MTNLG_DTYPES="bf16 f32"
PROFILE_STEPS=4
MTNLG_SETS=()
PROFILE_ROWS=15
ONLY=""
DRY_RUN=0
PEAK_BF16="${PEAK_BF16:-989e12}"   # H100/H200 SXM dense
PEAK_TF32="${PEAK_TF32:-494.5e12}"
PEAK_F32="${PEAK_F32:-67e12}"      # f32 without tensor cores (mtnlg with backend.tf32 = false)

usage() {
  cat <<EOF
usage: $0 [options]
  --mtnlg PATH         the mtnlg binary (env MTNLG; default build/bin/mtnlg)
  --scratch DIR        run directories of mtnlg (env SCRATCH; default a new temporary directory)
  --out DIR            table.md, results.json, raw/ and logs/ (env OUT_DIR; default SCRATCH/out)
  --python PY          python with torch (env PYTHON; default python3; /usr/bin/python3 with --dry-run)
  --steps N            mtnlg steps per run ($STEPS); tokens/s is the median after the first $SKIP
  --torch-steps N      timed PyTorch steps ($TORCH_STEPS) after --torch-warmup N ($TORCH_WARMUP)
  --mb-124m "LIST"     mtnlg micro-batches to try for gpt2-124m, largest first ("$MB_124M"); the next is
                       tried only when mtnlg reports "out of GPU memory"
  --mb-1.3b "LIST"     the same for gpt-1.3b ("$MB_1P3B")
  --torch-mb X         same (mtnlg's 124M micro-batch, or the largest power of two below it that
                       fits; without an mtnlg 124M result, as auto), auto (the largest power of two
                       <= --torch-max-mb that fits), or a number ($TORCH_MB)
  --torch-max-mb N     cap of auto ($TORCH_MAX_MB)
  --mtnlg-dtype LIST   mtnlg's train.dtype for its rows, of bf16 (mixed precision: bf16 compute, f32
                       master weights; MFU over PEAK_BF16) and f32 ("$MTNLG_DTYPES")
  --mtnlg-tf32 X       on, off or both: backend.tf32 of mtnlg's f32 rows ($MTNLG_TF32)
  --mtnlg-set KEY=VAL  one more --set for every mtnlg run (repeatable), e.g. backend.attention=simt
  --timeout S          per part ($TIMEOUT)
  --budget S           for the whole script ($BUDGET); a part starts only with $MIN_PART s left
  --only LIST          comma-separated parts, run in this order (most wanted first): mtnlg-124m-bf16,
                       torch-compile-bf16, mtnlg-1.3b-bf16, mtnlg-124m-profile, torch-eager-bf16,
                       mtnlg-124m-f32, mtnlg-1.3b-f32, torch-eager-f32, torch-compile-f32 (default all;
                       mtnlg-124m or mtnlg-1.3b alone: every dtype of --mtnlg-dtype). mtnlg-124m-profile:
                       $PROFILE_STEPS steps of 124M bf16 at the micro-batch mtnlg-124m-bf16 ran with
                       --set backend.profile_ops=OUT/profile-124m-bf16.txt (not in a dry run: the cpu
                       backend has no such key)
  --dry-run            on this CPU at toy size (2 layers, hidden 64, seq 64, vocab 512): mtnlg with
                       --set backend.name=cpu, PyTorch with --device cpu
Peaks for MFU from env PEAK_BF16 ($PEAK_BF16), PEAK_TF32 ($PEAK_TF32), PEAK_F32 ($PEAK_F32).
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --mtnlg) MTNLG="$2"; shift 2 ;;
    --scratch) SCRATCH="$2"; shift 2 ;;
    --out) OUT_DIR="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --torch-steps) TORCH_STEPS="$2"; shift 2 ;;
    --torch-warmup) TORCH_WARMUP="$2"; shift 2 ;;
    --mb-124m) MB_124M="$2"; shift 2 ;;
    --mb-1.3b) MB_1P3B="$2"; shift 2 ;;
    --torch-mb) TORCH_MB="$2"; shift 2 ;;
    --torch-max-mb) TORCH_MAX_MB="$2"; shift 2 ;;
    --mtnlg-tf32) MTNLG_TF32="$2"; shift 2 ;;
    --mtnlg-dtype) MTNLG_DTYPES="$2"; shift 2 ;;
    --mtnlg-set) MTNLG_SETS+=(--set "$2"); shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
case "$MTNLG_TF32" in on|off|both) ;; *) echo "run.sh: --mtnlg-tf32 must be on, off or both" >&2; exit 2 ;; esac
[ -n "${MTNLG_DTYPES// /}" ] || { echo "run.sh: --mtnlg-dtype needs bf16, f32 or both" >&2; exit 2; }
for d in $MTNLG_DTYPES; do
  case "$d" in bf16|f32) ;; *) echo "run.sh: --mtnlg-dtype: '$d' is not bf16 or f32" >&2; exit 2 ;; esac
done
# Most wanted first, so that a tight budget drops the least: mtnlg's bf16 124M number and its target,
# torch.compile in bf16 (mtnlg should reach its tokens/s); mtnlg's 1.3B bf16 (target: 45% MFU); where the
# time goes (the profile); PyTorch eager; then the f32/TF32 rows. The table groups rows by config anyway.
PARTS="mtnlg-124m-bf16 torch-compile-bf16 mtnlg-1.3b-bf16 mtnlg-124m-profile torch-eager-bf16"
PARTS="$PARTS mtnlg-124m-f32 mtnlg-1.3b-f32 torch-eager-f32 torch-compile-f32"
for p in ${ONLY//,/ }; do
  [[ " $PARTS mtnlg-124m mtnlg-1.3b " == *" $p "* ]] ||
    { echo "run.sh: unknown part '$p' in --only; parts: $PARTS" >&2; exit 2; }
done

START=$(date +%s)
DEADLINE=$((START + BUDGET))
[ -n "$MTNLG" ] || MTNLG="$ROOT/build/bin/mtnlg"
[ -n "$SCRATCH" ] || SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/gpu-train.XXXXXX")"
[ -n "$OUT_DIR" ] || OUT_DIR="$SCRATCH/out"
mkdir -p "$SCRATCH" "$OUT_DIR/rows" "$OUT_DIR/raw" "$OUT_DIR/logs"
rm -f "$OUT_DIR"/rows/*.json
SUM=("$PY" "$HERE/summarize.py")

# What differs in a dry run: toy sizes, the cpu backend, the CPU torch.
MTNLG_EXTRA=()
TORCH_SIZE=(--layers 12 --hidden 768 --heads 12 --seq 1024 --vocab 50304 --real-vocab 50257)
TORCH_EXTRA=()
CFG_124M="gpt2-124m"
CFG_1P3B="gpt-1.3b"
TF32_KEY=1
if [ "$DRY_RUN" = 1 ]; then
  [ "$PY" = python3 ] && [ -z "${PYTHON:-}" ] && PY=/usr/bin/python3 && SUM=("$PY" "$HERE/summarize.py")
  THREADS=$(nproc 2>/dev/null || echo 1)
  MTNLG_EXTRA=(--set backend.name=cpu --set "backend.threads=$THREADS" --set model.layers=2 --set model.hidden=64
               --set model.heads=4 --set model.seq_len=64 --set model.vocab_size=500 --set model.padded_vocab=512)
  TORCH_SIZE=(--layers 2 --hidden 64 --heads 4 --seq 64 --vocab 512 --real-vocab 500)
  TORCH_EXTRA=(--device cpu --threads "$THREADS")
  CFG_124M="gpt2-124m (dry run: 2 layers, hidden 64, seq 64, cpu)"
  CFG_1P3B="gpt-1.3b (dry run: 2 layers, hidden 64, seq 64, cpu)"
  TF32_KEY=0   # the cpu backend has no tf32 key
fi
MTNLG_EXTRA+=(${MTNLG_SETS[@]+"${MTNLG_SETS[@]}"})

log() { echo "[run.sh +$(( $(date +%s) - START ))s] $*" >&2; }
# Row files sort as the table lists them: the 124M rows (mtnlg, then PyTorch) before the 1.3B ones.
ROW=0
ROW_FILE=""
next_row() {  # GROUP NAME: sets ROW_FILE (not in a $(...) subshell, which would lose the count)
  ROW=$((ROW + 1))
  ROW_FILE="$(printf '%s/rows/%s-%02d-%s.json' "$OUT_DIR" "$1" "$ROW" "$2")"
}
# PART is in --only, where a bare mtnlg-124m or mtnlg-1.3b names the part of each dtype.
wanted() {
  [ -z "$ONLY" ] && return 0
  local p
  for p in ${ONLY//,/ }; do
    [ "$p" = "$1" ] || [ "$p-bf16" = "$1" ] || [ "$p-f32" = "$1" ] && return 0
  done
  return 1
}
has_dtype() { [[ " $MTNLG_DTYPES " == *" $1 "* ]]; }
# Seconds the next part may take: min(TIMEOUT, what is left of the budget); 0 when under MIN_PART is left.
part_limit() {
  local left=$((DEADLINE - $(date +%s)))
  if [ "$left" -lt "$MIN_PART" ]; then echo 0; elif [ "$left" -lt "$TIMEOUT" ]; then echo "$left"; else echo "$TIMEOUT"; fi
}

log "mtnlg $MTNLG; python $PY; scratch $SCRATCH; out $OUT_DIR; budget ${BUDGET}s, ${TIMEOUT}s per part"
if [ "$DRY_RUN" = 0 ] && command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader >&2 || true
fi

# mtnlg train ARGS with its output in LOGF, for at most LIMIT seconds; sets RC (124: killed at the limit).
# STOP_AT > 0: killed as soon as RUN_DIR/metrics.jsonl holds STOP_AT steps, with RC 0, since all that follows
# the last step is writing the training and the model checkpoints (some 20 GB for gpt-1.3b: most of such a
# run's time), which the benchmark does not need.
RC=0
train_mtnlg() {  # LIMIT LOGF RUN_DIR STOP_AT ARGS...
  local limit="$1" logf="$2" rundir="$3" stop_at="$4"
  shift 4
  local deadline=$(($(date +%s) + limit)) pid done_steps
  "$MTNLG" train "$@" --run-dir "$rundir" >"$logf" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    done_steps=0
    [ -f "$rundir/metrics.jsonl" ] && done_steps=$(wc -l <"$rundir/metrics.jsonl")
    if [ "$stop_at" -gt 0 ] && [ "$done_steps" -ge "$stop_at" ]; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      echo "[run.sh] stopped after step $done_steps of $stop_at, before the final checkpoints" >>"$logf"
      RC=0
      return
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      echo "[run.sh] killed: timed out after ${limit}s at step $done_steps" >>"$logf"
      RC=124
      return
    fi
    sleep 0.5
  done
  wait "$pid"
  RC=$?
}

# mtnlg on one recipe in one dtype: the micro-batches of LIST in turn until one does not run out of GPU
# memory.
MB_USED_124M=""       # the first 124M micro-batch that ran (PyTorch's --torch-mb same)
MB_USED_124M_BF16=""  # the profile's
run_mtnlg() {  # CFG_KEY RECIPE CONFIG_LABEL "MB LIST" DTYPE(bf16|f32) TF32(on|off; f32 only)
  local key="$1" recipe="$2" label="$3" list="$4" dtype="$5" tf32="${6:-}"
  local mode extra=(--set "train.dtype=$dtype") peak peak_name tag
  if [ "$dtype" = bf16 ]; then
    mode="bf16 (f32 master weights)"; peak="$PEAK_BF16"; peak_name="bf16 dense"; tag=bf16
    [ "$DRY_RUN" = 1 ] && mode="bf16 (cpu backend)"
  else
    if [ "$TF32_KEY" = 1 ]; then
      extra+=(--set "backend.tf32=$([ "$tf32" = on ] && echo true || echo false)")
    fi
    if [ "$tf32" = on ]; then
      mode="f32/TF32"; peak="$PEAK_TF32"; peak_name="TF32 dense"
    else
      mode="f32"; peak="$PEAK_F32"; peak_name="f32 dense, no tensor cores"
    fi
    [ "$DRY_RUN" = 1 ] && mode="f32 (cpu backend)"
    tag="f32-tf32$tf32"
  fi
  local mbs oom="" i name rundir logf rc limit t0 group=a
  read -r -a mbs <<<"$list"
  [ "$key" = 124m ] || group=b
  for ((i = 0; i < ${#mbs[@]}; i++)); do
    local mb="${mbs[$i]}"
    name="mtnlg-$key-$tag-mb$mb"
    limit=$(part_limit)
    if [ "$limit" = 0 ]; then
      next_row "$group" "$name"
      "${SUM[@]}" failed "$ROW_FILE" --config "$label" --framework mtnlg --mode "$mode" \
        --micro-batch "$mb" --status skipped --why "out of the ${BUDGET}s budget"
      return
    fi
    if [ ! -x "$MTNLG" ]; then
      next_row "$group" "$name"
      "${SUM[@]}" failed "$ROW_FILE" --config "$label" --framework mtnlg --mode "$mode" \
        --micro-batch "$mb" --why "no mtnlg binary at $MTNLG"
      return
    fi
    rundir="$SCRATCH/$name"; logf="$OUT_DIR/logs/$name.log"
    rm -rf "$rundir" "$OUT_DIR/raw/$name.metrics.jsonl"
    log "mtnlg $key micro-batch $mb ($mode), timeout ${limit}s"
    t0=$(date +%s)
    train_mtnlg "$limit" "$logf" "$rundir" "$STEPS" "$recipe" --steps "$STEPS" \
      --set "train.micro_batch=$mb" --set "train.global_batch=$mb" "${extra[@]}" "${MTNLG_EXTRA[@]}"
    rc=$RC
    log "  exit $rc after $(( $(date +%s) - t0 ))s$(grep -q '^\[run.sh\] stopped after' "$logf" && echo ', stopped after its last step')"
    [ -f "$rundir/metrics.jsonl" ] && cp "$rundir/metrics.jsonl" "$OUT_DIR/raw/$name.metrics.jsonl"
    rm -rf "$rundir/checkpoint" "$rundir/checkpoints"   # GBs each (the disk is 64 GiB); not needed here
    if [ "$rc" != 0 ] && grep -q "out of GPU memory" "$logf" && [ $((i + 1)) -lt ${#mbs[@]} ]; then
      log "  out of GPU memory at micro-batch $mb; trying ${mbs[$((i + 1))]}"
      oom="$oom${oom:+, }$mb"
      continue
    fi
    next_row "$group" "$name"
    "${SUM[@]}" mtnlg "$ROW_FILE" --metrics "$OUT_DIR/raw/$name.metrics.jsonl" --rc "$rc" \
      --log "$logf" --config "$label" --mode "$mode" --micro-batch "$mb" --steps "$STEPS" --skip "$SKIP" \
      --peak "$peak" --peak-name "$peak_name" --timeout "$limit" ${oom:+--note "out of GPU memory at $oom"}
    if [ "$key" = 124m ] && [ "$rc" = 0 ]; then
      [ -n "$MB_USED_124M" ] || MB_USED_124M="$mb"
      [ "$dtype" = bf16 ] && MB_USED_124M_BF16="$mb"
    fi
    return
  done
}

# mtnlg 124M bf16 for PROFILE_STEPS steps with the cuda backend's per-op GPU time, at the micro-batch that
# ran; it must end normally, since the table is written when the backend is destroyed.
PROFILE_FILE=""
run_profile() {
  local mb="$MB_USED_124M_BF16" limit rc t0 extra=()
  local rundir="$SCRATCH/mtnlg-124m-bf16-profile" logf="$OUT_DIR/logs/mtnlg-124m-bf16-profile.log"
  local file="$OUT_DIR/profile-124m-bf16.txt"
  rm -f "$file"
  if [ -z "$mb" ]; then
    log "profile: skipped: no mtnlg 124M bf16 run succeeded (part mtnlg-124m-bf16) to take the micro-batch from"
    return
  fi
  limit=$(part_limit)
  if [ "$limit" = 0 ]; then
    log "profile: skipped: out of the ${BUDGET}s budget"
    return
  fi
  if [ "$DRY_RUN" = 0 ]; then
    extra=(--set "backend.profile_ops=$file")
  else
    log "profile: a dry run goes without backend.profile_ops (the cpu backend has no such key)"
  fi
  rm -rf "$rundir"
  log "mtnlg 124m bf16 micro-batch $mb, $PROFILE_STEPS steps with the per-op GPU time, timeout ${limit}s"
  t0=$(date +%s)
  train_mtnlg "$limit" "$logf" "$rundir" 0 "$ROOT/recipes/bench/gpt2-124m.toml" --steps "$PROFILE_STEPS" \
    --set "train.micro_batch=$mb" --set "train.global_batch=$mb" --set train.dtype=bf16 "${extra[@]}" \
    "${MTNLG_EXTRA[@]}"
  rc=$RC
  log "  exit $rc after $(( $(date +%s) - t0 ))s"
  rm -rf "$rundir/checkpoint" "$rundir/checkpoints"
  if [ -s "$file" ]; then
    PROFILE_FILE="$file"
    log "  per-op GPU time in $file (its top $PROFILE_ROWS rows follow the table)"
  elif [ "$DRY_RUN" = 0 ]; then
    log "  no profile written: $(tail -3 "$logf" | tr '\n' ' ')"
  fi
}

# The profile's first line and the header and top rows of its table.
print_profile() {  # FILE ROWS
  head -1 "$1"
  echo
  grep '^| ' "$1" | head -n $(($2 + 2))
  echo
  echo "($(grep -c '^| ' "$1" | awk '{ print $1 - 2 }') rows in all: $1)"
}

run_torch() {  # MODE DTYPE
  local mode="$1" dtype="$2" name="torch-$1-$2" limit rc t0 mb="$TORCH_MB" cap="$TORCH_MAX_MB"
  local label="$CFG_124M" logf="$OUT_DIR/logs/torch-$1-$2.log" result="$OUT_DIR/raw/torch-$1-$2.json"
  # same: mtnlg's 124M micro-batch, or the largest power of two below it that fits (auto with that cap)
  if [ "$mb" = same ]; then mb=auto; cap="${MB_USED_124M:-$TORCH_MAX_MB}"; fi
  local asked="$mb"; [ "$mb" = auto ] && asked="auto <= $cap"
  local peak=(--peak "$PEAK_BF16" --peak-name "bf16 dense")
  [ "$dtype" = bf16 ] || peak=(--peak "$PEAK_TF32" --peak-name "TF32 dense")
  limit=$(part_limit)
  if [ "$limit" = 0 ]; then
    next_row a "$name"
    "${SUM[@]}" failed "$ROW_FILE" --config "$label" --framework pytorch --mode "$mode, $dtype" \
      --micro-batch "$asked" --status skipped --why "out of the ${BUDGET}s budget"
    return
  fi
  rm -f "$result"
  log "pytorch $mode $dtype micro-batch $mb, timeout ${limit}s"
  t0=$(date +%s)
  timeout -k 10 "$limit" "$PY" "$HERE/torch_gpt2.py" "${TORCH_SIZE[@]}" "${TORCH_EXTRA[@]}" \
    --micro-batch "$mb" --max-micro-batch "$cap" --steps "$TORCH_STEPS" --warmup "$TORCH_WARMUP" \
    --mode "$mode" --dtype "$dtype" "${peak[@]}" \
    --label "$CFG_124M" --json "$result" >"$logf" 2>&1
  rc=$?
  log "  exit $rc after $(( $(date +%s) - t0 ))s"
  next_row a "$name"
  "${SUM[@]}" torch "$ROW_FILE" --result "$result" --rc "$rc" --log "$logf" --config "$label" \
    --mode "$mode, $dtype" --micro-batch-asked "$asked" --timeout "$limit"
}

tf32_modes() { case "$MTNLG_TF32" in both) echo "on off" ;; *) echo "$MTNLG_TF32" ;; esac; }
for part in $PARTS; do
  wanted "$part" || continue
  case "$part" in
    mtnlg-124m-bf16)
      has_dtype bf16 && run_mtnlg 124m "$ROOT/recipes/bench/gpt2-124m.toml" "$CFG_124M" "$MB_124M" bf16 ;;
    mtnlg-1.3b-bf16)
      has_dtype bf16 && run_mtnlg 1.3b "$ROOT/recipes/bench/gpt-1.3b.toml" "$CFG_1P3B" "$MB_1P3B" bf16 ;;
    mtnlg-124m-f32)
      if has_dtype f32; then
        for t in $(tf32_modes); do run_mtnlg 124m "$ROOT/recipes/bench/gpt2-124m.toml" "$CFG_124M" "$MB_124M" f32 "$t"; done
      fi ;;
    mtnlg-1.3b-f32)
      if has_dtype f32; then
        for t in $(tf32_modes); do run_mtnlg 1.3b "$ROOT/recipes/bench/gpt-1.3b.toml" "$CFG_1P3B" "$MB_1P3B" f32 "$t"; done
      fi ;;
    mtnlg-124m-profile)
      has_dtype bf16 && run_profile ;;
    torch-*)
      part="${part#torch-}"; run_torch "${part%-*}" "${part#*-}" ;;
  esac
done

log "done in $(( $(date +%s) - START ))s; rows, raw JSON and logs under $OUT_DIR"
"${SUM[@]}" table "$OUT_DIR/rows" --md "$OUT_DIR/table.md" --json "$OUT_DIR/results.json"
if [ -n "$PROFILE_FILE" ]; then
  echo
  print_profile "$PROFILE_FILE" "$PROFILE_ROWS"
fi
if grep -l '"status": "\(failed\|skipped\)"' "$OUT_DIR"/rows/*.json >/dev/null 2>&1; then exit 3; fi
exit 0
