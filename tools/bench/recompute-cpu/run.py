#!/usr/bin/python3
"""recompute-cpu: peak activation memory and step time of each activation-recomputation mode, per pipeline stage.

For each layout (TPxPPxDP, default 1x1x1 and 1x2x1) and each mode (default none, full, full:2 = full with
train.recompute_interval = 2, selective) it trains the recipe (default recipes/tiny.toml) for warm-up + steps
optimizer steps on the CPU backend, under `mpirun -np TP*PP*DP` when that is more than one rank, with
`--log-level debug`, and reads:

  * per rank, the debug line `memory: pipeline stage S (tp T, dp D), first step: peak X B above the Y B live
    before it`: the CPU backend's allocation ledger (exact requested bytes of every backend tensor), peak
    during the first step minus what was live before it (parameters, gradients, optimizer state) = the
    stage's peak activation memory, saved activations and temporaries together; a stage's value is the
    largest over its tensor- and data-parallel ranks;
  * from rank 0's metrics.jsonl, the median step_time_s after the warm-up, tflops_per_device (model FLOPs)
    and hardware_tflops_per_device (recomputation included).

It prints one row per layout and mode, with each stage's peak and its ratio to the same layout without
recomputation. Run from anywhere in the repository after building (cmake --build build):
    tools/bench/recompute-cpu/run.py [--recipe R] [--layouts 1x1x1,1x2x1] [--modes none,full,full:2,selective]
                                     [--steps N] [--warmup N] [--threads N] [--set key=value ...]
See tools/bench/recompute-cpu/README.md.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MEMORY = re.compile(r"\[rank (\d+)\].*memory: pipeline stage (\d+) \(tp (\d+), dp (\d+)\), first step: "
                    r"peak (\d+) B above the (\d+) B live")


def fail(message):
    sys.exit(f"recompute-cpu: {message}")


def parse_layouts(text):
    layouts = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        try:
            tp, pp, dp = (int(x) for x in item.lower().split("x"))
        except ValueError:
            fail(f"bad layout '{item}': want TPxPPxDP, e.g. 1x2x1")
        if min(tp, pp, dp) < 1:
            fail(f"bad layout '{item}': every degree must be >= 1")
        layouts.append((tp, pp, dp))
    return layouts


def parse_modes(text):
    """'none', 'full', 'full:N', 'selective' -> (label, [--set arguments])."""
    modes = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        name, _, interval = item.partition(":")
        if name not in ("none", "full", "selective") or (interval and (name != "full" or not interval.isdigit())):
            fail(f"bad mode '{item}': want none, full, full:N or selective")
        sets = [f"train.recompute={name}"] + ([f"train.recompute_interval={interval}"] if interval else [])
        modes.append((item, sets))
    if not any(label == "none" for label, _ in modes):
        modes.insert(0, ("none", ["train.recompute=none"]))  # the baseline of every ratio
    return modes


def name(layout):
    return "x".join(map(str, layout))


def run(args, layout, sets):
    tp, pp, dp = layout
    ranks = tp * pp * dp
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    overrides = [f"parallel.tensor={tp}", f"parallel.pipeline={pp}", f"parallel.data={dp}",
                 "train.eval_interval=0", f"backend.threads={args.threads}"] + args.set + sets
    with tempfile.TemporaryDirectory(prefix="recompute-cpu-") as run_dir:
        command = [args.mtnlg, "--log-level", "debug", "train", args.recipe, "--run-dir", run_dir,
                   "--steps", str(args.warmup + args.steps)]
        command += [a for s in overrides for a in ("--set", s)]
        if ranks > 1:
            command = [args.mpirun, "--allow-run-as-root", "--oversubscribe", "-np", str(ranks)] + command
        # In a session of its own, so that a run past --timeout is stopped with all its ranks; from the
        # repository root, where the recipes' data paths are relative to.
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            fail(f"{name(layout)} {sets}: no result after {args.timeout} s: {' '.join(command)}")
        if proc.returncode != 0:
            fail(f"{name(layout)} {sets}: {' '.join(command)} failed (exit {proc.returncode}):\n{output[-4000:]}")
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            steps = [json.loads(line) for line in f if line.strip()][args.warmup:]
    peaks = {}
    for rank, stage, _, _, peak, _ in MEMORY.findall(output):
        peaks[int(stage)] = max(peaks.get(int(stage), 0), int(peak))
    if sorted(peaks) != list(range(pp)):
        fail(f"{name(layout)} {sets}: memory lines for stages {sorted(peaks)} of {pp} (does this mtnlg log "
             f"the first step's peak at debug level?):\n{output[-4000:]}")
    return {
        "peaks": [peaks[s] for s in range(pp)],
        "ms": 1e3 * statistics.median(s["step_time_s"] for s in steps),
        "model_tflops": statistics.median(s["tflops_per_device"] for s in steps),
        "hardware_tflops": statistics.median(s["hardware_tflops_per_device"] for s in steps),
    }


def resolved(args):
    out = subprocess.run([args.mtnlg, "check", args.recipe, "--print"] + [a for s in args.set for a in ("--set", s)],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"mtnlg check {args.recipe} failed:\n{out.stdout}{out.stderr}")
    return tomllib.loads(out.stdout)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "tiny.toml"))
    parser.add_argument("--layouts", default="1x1x1,1x2x1", help="TPxPPxDP, comma-separated")
    parser.add_argument("--modes", default="none,full,full:2,selective",
                        help="none, full, full:N (recompute_interval N), selective; comma-separated")
    parser.add_argument("--steps", type=int, default=4, help="timed steps (the median is reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=1, help="backend.threads per rank")
    parser.add_argument("--set", action="append", default=[], help="a recipe override for every run; repeatable")
    parser.add_argument("--mtnlg", default=os.path.join(ROOT, "build", "bin", "mtnlg"))
    parser.add_argument("--mpirun", default=shutil.which("mpirun") or "mpirun")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one run may take")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        fail("--steps must be >= 1 and --warmup >= 0")
    if not os.access(args.mtnlg, os.X_OK):
        fail(f"{args.mtnlg} not found: build first (cmake --build build) or pass --mtnlg")
    layouts, modes = parse_layouts(args.layouts), parse_modes(args.modes)
    if any(t * p * d > 1 for t, p, d in layouts) and not shutil.which(args.mpirun):
        fail(f"{args.mpirun} not found: install OpenMPI or pass --mpirun")
    cfg = resolved(args)
    prefix = cfg.get("reader", {}).get("prefix")
    if prefix and not os.path.exists(os.path.join(ROOT, prefix + ".idx")):
        fail(f"{prefix}.idx is missing: run tools/prepare-corpus first, or pass --recipe recipes/tiny-counting.toml")

    results = {}
    for layout in layouts:
        for label, sets in modes:
            print(f"[{name(layout)} {label}] ...", file=sys.stderr, flush=True)
            results[layout, label] = run(args, layout, sets)

    model, train = cfg["model"], cfg["train"]
    print(f"machine: {cpu_model()}, nproc {os.cpu_count()}; {args.threads} thread(s) per rank, CPU backend")
    print(f"model: {os.path.relpath(args.recipe, ROOT)} {' '.join('--set ' + s for s in args.set)}".rstrip()
          + f" ({model['layers']} layers, hidden {model['hidden']}, {model['heads']} heads, seq {model['seq_len']}, "
          f"padded vocab {model['padded_vocab']}, hidden dropout {model['hidden_dropout']}, attention dropout "
          f"{model['attention_dropout']}, {train['dtype']}); micro-batch {train['micro_batch']}, global batch "
          f"{train['global_batch']}; median of {args.steps} steps after {args.warmup} warm-up")
    print()
    print("| layout (TPxPPxDP) | recompute | peak activation MiB per stage | vs none per stage | ms/step | "
          "time vs none | model TFLOP/s | hardware TFLOP/s |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for layout in layouts:
        base = results[layout, "none"]
        for label, _ in modes:
            r = results[layout, label]
            mib = " / ".join(f"{p / 2**20:.2f}" for p in r["peaks"])
            ratio = " / ".join(f"{p / b:.3f}" for p, b in zip(r["peaks"], base["peaks"]))
            print(f"| {name(layout)} | {label} | {mib} | {ratio} | {r['ms']:.1f} | {r['ms'] / base['ms']:.2f} | "
                  f"{r['model_tflops']:.4f} | {r['hardware_tflops']:.4f} |")
    print()
    print("peak activation: the CPU backend's peak live bytes during the first step minus those live before it "
          "(parameters, gradients, optimizer state), largest over a stage's ranks; stages in order (s0 / s1 / ...). "
          "vs none: over the same layout without recomputation.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
