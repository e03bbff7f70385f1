#!/usr/bin/env bash
# sbatch_template.sh TEMPLATE WORK — runs the body of tools/slurm/mtnlg.sbatch as sbatch would (bash, with the
# SLURM_* variables of a 280-node job set), with fake srun, scancel, scontrol and mtnlg on PATH that record
# their arguments (and srun its environment), and checks:
#  - the srun command line: --mpi=pmix, 8 tasks per node, the node count, the mtnlg train command with the
#    recipe, a run directory per job and the overrides; the rank environment (NCCL_IB_HCA, UCX_NET_DEVICES,
#    CUDA_DEVICE_MAX_CONNECTIONS); the `mtnlg check --world 2240` run first;
#  - --resume RUN_DIR (and no --run-dir) when the run directory has checkpoints/latest;
#  - a missing recipe, a missing binary and a refused check: a clear error, non-zero exit, no srun;
#  - SIGUSR1 to the batch shell: SIGTERM to the job's steps, then `scontrol requeue JOBID` once srun exits
#    with 143; SIGTERM: the same stop, no requeue, exit 143.
set -uo pipefail
template=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") work=$2
rm -rf "$work" && mkdir -p "$work/bin" "$work/submit/recipes" "$work/log"
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# Fakes. srun records its arguments (one per line) and environment; with FAKE_SRUN=wait it stays up until
# SIGTERM and then exits 143 as mtnlg does after saving. scancel and scontrol record their arguments; scancel
# --signal=TERM signals the waiting fake srun, as Slurm would signal the job step's tasks.
cat > "$work/bin/srun" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_LOG/srun.args"
env > "$FAKE_LOG/srun.env"
if [ "${FAKE_SRUN:-}" = wait ]; then
  trap 'echo TERM >> "$FAKE_LOG/srun.signals"; exit 143' TERM
  echo $$ > "$FAKE_LOG/srun.pid"
  for _ in $(seq 600); do sleep 0.1; done
  exit 99  # not signalled within a minute
fi
exit "${FAKE_SRUN_STATUS:-0}"
EOF
cat > "$work/bin/scancel" <<'EOF'
#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG/scancel.args"
[ "$1" = --signal=TERM ] && [ -f "$FAKE_LOG/srun.pid" ] && kill -TERM "$(cat "$FAKE_LOG/srun.pid")"
exit 0
EOF
cat > "$work/bin/scontrol" <<'EOF'
#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG/scontrol.args"
EOF
cat > "$work/bin/mtnlg" <<'EOF'
#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG/mtnlg.args"
[ "$1" = check ] && exit "${FAKE_CHECK_STATUS:-0}"
exit 0
EOF
chmod +x "$work/bin/"*
echo '# a recipe' > "$work/submit/recipes/big.toml"

# One job: SLURM_* as sbatch sets them for `sbatch --nodes=280`, run in the submit directory.
job() {  # the template's arguments; env FAKE_* and MTNLG_* pass through
  rm -rf "$work/log" && mkdir -p "$work/log"
  (cd "$work/submit" && env PATH="$work/bin:$PATH" FAKE_LOG="$work/log" SLURM_JOB_ID=4242 SLURM_JOB_NUM_NODES=280 \
    SLURM_NNODES=280 SLURM_SUBMIT_DIR="$work/submit" MTNLG="${MTNLG:-$work/bin/mtnlg}" bash "$template" "$@") \
    > "$work/log/out" 2> "$work/log/err"
}
srun_arg() { grep -qxF -- "$1" "$work/log/srun.args"; }
srun_env() { grep -qxF -- "$1" "$work/log/srun.env"; }
recipe=$work/submit/recipes/big.toml
run_dir=$work/submit/runs/big-4242

# A fresh job.
job recipes/big.toml --set train.steps=3 --steps 3 || fail "the job exited $?: $(cat "$work/log/err")"
[ -f "$work/log/srun.args" ] || fail "srun was not run"
head -1 "$work/log/srun.args" | grep -qx -- --mpi=pmix || fail "srun's first argument is not --mpi=pmix: $(head -1 "$work/log/srun.args")"
srun_arg --ntasks-per-node=8 || fail "no --ntasks-per-node=8 in: $(tr '\n' ' ' < "$work/log/srun.args")"
srun_arg --nodes=280 || fail "no --nodes=280"
# The mtnlg command, exactly, after srun's own options.
want="$work/bin/mtnlg train $recipe --run-dir $run_dir --set train.steps=3 --steps 3"
got=$(sed -n "\|^$work/bin/mtnlg\$|,\$p" "$work/log/srun.args" | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "mtnlg command: got '$got', want '$want'"
ok "srun --mpi=pmix --ntasks-per-node=8 --nodes=280 ... $want"
srun_env "NCCL_IB_HCA==mlx5_0,mlx5_1,mlx5_2,mlx5_3,mlx5_6,mlx5_7,mlx5_8,mlx5_9" || fail "NCCL_IB_HCA: $(grep NCCL_IB_HCA "$work/log/srun.env")"
srun_env "UCX_NET_DEVICES=mlx5_0:1,mlx5_1:1,mlx5_2:1,mlx5_3:1,mlx5_6:1,mlx5_7:1,mlx5_8:1,mlx5_9:1" ||
  fail "UCX_NET_DEVICES: $(grep UCX_NET_DEVICES "$work/log/srun.env")"
srun_env CUDA_DEVICE_MAX_CONNECTIONS=1 || fail "no CUDA_DEVICE_MAX_CONNECTIONS=1"
srun_env OMPI_MCA_pml=ucx || fail "no OMPI_MCA_pml=ucx"
! grep -q '^NCCL_IB_GID_INDEX=' "$work/log/srun.env" || fail "NCCL_IB_GID_INDEX set on an InfiniBand fabric"
ok "rank environment: NCCL_IB_HCA, UCX_NET_DEVICES, CUDA_DEVICE_MAX_CONNECTIONS, OMPI_MCA_pml"
grep -qxF "check $recipe --world 2240 --set train.steps=3" "$work/log/mtnlg.args" ||
  fail "no 'mtnlg check --world 2240' first: $(cat "$work/log/mtnlg.args" 2>/dev/null)"
! grep -q '^train' "$work/log/mtnlg.args" || fail "mtnlg train ran outside srun"
[ ! -e "$work/log/scontrol.args" ] || fail "a job that ended by itself was requeued"
ok "mtnlg check RECIPE --world 2240 ran before srun"

# A run directory with a checkpoint: --resume RUN_DIR, no --run-dir.
mkdir -p "$run_dir/checkpoints" && echo step-0000010 > "$run_dir/checkpoints/latest"
job recipes/big.toml --set train.steps=3 || fail "the resumed job exited $?: $(cat "$work/log/err")"
want="$work/bin/mtnlg train $recipe --resume $run_dir --set train.steps=3"
got=$(sed -n "\|^$work/bin/mtnlg\$|,\$p" "$work/log/srun.args" | tr '\n' ' ' | sed 's/ $//')
[ "$got" = "$want" ] || fail "resume: got '$got', want '$want'"
grep -q "has checkpoint step-0000010: resuming" "$work/log/out" || fail "no 'resuming' line: $(cat "$work/log/out")"
ok "resume: $want"
# MTNLG_RUN_DIR names another job's run directory.
MTNLG_RUN_DIR=$work/elsewhere job recipes/big.toml || fail "MTNLG_RUN_DIR job exited $?"
srun_arg "$work/elsewhere" && srun_arg --run-dir || fail "MTNLG_RUN_DIR not used: $(tr '\n' ' ' < "$work/log/srun.args")"
ok "MTNLG_RUN_DIR"

# Errors: a clear message, a non-zero exit, no srun.
expect_refusal() {  # PATTERN ARGS...
  local pattern=$1 status=0
  shift
  job "$@" || status=$?
  [ "$status" != 0 ] || fail "accepted: $*"
  grep -Eq -- "$pattern" "$work/log/err" || fail "expected /$pattern/ for '$*', got: $(cat "$work/log/err")"
  [ ! -e "$work/log/srun.args" ] || fail "srun ran although: $pattern"
  echo "ok: exit $status: $(cat "$work/log/err")"
}
expect_refusal "mtnlg.sbatch: error: recipe 'recipes/nope.toml' not found" recipes/nope.toml --set train.steps=3
expect_refusal "mtnlg.sbatch: error: no recipe"
MTNLG=/no/mtnlg expect_refusal "mtnlg binary '/no/mtnlg' not found" recipes/big.toml
FAKE_CHECK_STATUS=1 expect_refusal "mtnlg check refused the recipe for a world of 2240 ranks" recipes/big.toml

# The time limit: SIGUSR1 to the batch shell -> SIGTERM to the step -> srun exits 143 -> requeue.
signal_job() {  # SIGNAL — runs a job with a waiting srun, sends SIGNAL to the batch shell; sets $status
  rm -rf "$work/log" && mkdir -p "$work/log"
  (cd "$work/submit" && exec env PATH="$work/bin:$PATH" FAKE_LOG="$work/log" FAKE_SRUN=wait SLURM_JOB_ID=4242 \
    SLURM_JOB_NUM_NODES=2 SLURM_SUBMIT_DIR="$work/submit" MTNLG="$work/bin/mtnlg" bash "$template" recipes/big.toml) \
    > "$work/log/out" 2> "$work/log/err" &
  local pid=$!
  for _ in $(seq 100); do [ -s "$work/log/srun.pid" ] && break; sleep 0.1; done
  [ -s "$work/log/srun.pid" ] || { kill "$pid"; fail "the fake srun did not start: $(cat "$work/log/err")"; }
  kill -"$1" "$pid"
  status=0
  wait "$pid" || status=$?
}
signal_job USR1
[ "$status" = 0 ] || fail "time-limit stop: exit $status: $(cat "$work/log/err")"
grep -qx -- "--signal=TERM 4242" "$work/log/scancel.args" || fail "scancel: $(cat "$work/log/scancel.args" 2>/dev/null)"
grep -qx TERM "$work/log/srun.signals" || fail "the step got no SIGTERM"
grep -qx "requeue 4242" "$work/log/scontrol.args" || fail "no 'scontrol requeue 4242': $(cat "$work/log/scontrol.args" 2>/dev/null)"
grep -q "srun exited with status 143" "$work/log/out" || fail "srun's 143 not seen: $(cat "$work/log/out")"
ok "SIGUSR1: scancel --signal=TERM 4242, srun exited 143, scontrol requeue 4242"

# Preemption or scancel: SIGTERM -> the same stop, no requeue, the ranks' 143 passed on.
signal_job TERM
[ "$status" = 143 ] || fail "SIGTERM: exit $status, expected 143: $(cat "$work/log/err")"
grep -qx -- "--signal=TERM 4242" "$work/log/scancel.args" || fail "SIGTERM: scancel: $(cat "$work/log/scancel.args" 2>/dev/null)"
[ ! -e "$work/log/scontrol.args" ] || fail "SIGTERM requeued the job: $(cat "$work/log/scontrol.args")"
ok "SIGTERM: scancel --signal=TERM 4242, exit 143, no requeue"

# No endless requeues: at MTNLG_MAX_RESTARTS the time-limit stop ends the job.
SLURM_RESTART_COUNT=3 MTNLG_MAX_RESTARTS=3 signal_job USR1
[ "$status" = 143 ] || fail "at the restart limit: exit $status, expected 143"
[ ! -e "$work/log/scontrol.args" ] || fail "requeued past MTNLG_MAX_RESTARTS"
grep -q "requeued 3 times already" "$work/log/err" || fail "no restart-limit message: $(cat "$work/log/err")"
ok "MTNLG_MAX_RESTARTS=3 after 3 restarts: no requeue"
