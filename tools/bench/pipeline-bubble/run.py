#!/usr/bin/python3
"""pipeline-bubble: the planner's idle share of each pipeline stage against the one measured in real runs.

For each case (a schedule, the number of micro-batches, and whether the stages are balanced) it trains
recipes/tiny-counting.toml on the CPU backend at PP 2 under `mpirun -np 2` with `--log-level debug` and reads
every rank's line `pipeline: stage S (tp 0, dp 0), step N: T s, waited W s for pipeline peers; ...` (the
engine times each wait for a receive or for the sends before the gradient reduction). The measured idle share
of a stage is the sum of W over the steps after the warm-up divided by the sum of T. The planner's is
1 - busy / makespan of `mtnlg plan RECIPE --cluster cpu-laptop --nodes 2 --json` for the same recipe and
overrides (time.stages[].idle_fraction): its schedule simulation with first-principles costs. The textbook
bubble (P - 1) / (M + P - 1) of GPipe and 1F1B with equal stages is printed for reference.

"unbalanced" keeps the GPT-2 vocabulary: stage 1's LM head (51200 x 64 logits per token) outweighs stage 0's
embedding and block. "balanced" uses a 256-token vocabulary, so the two stages do about the same work.
Run from anywhere in the repository after building:
    tools/bench/pipeline-bubble/run.py [--steps N] [--warmup N]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LINE = re.compile(r"pipeline: stage (\d+) \(tp 0, dp 0\), step (\d+): ([0-9.e+-]+) s, waited ([0-9.e+-]+) s")
CASES = [  # name, schedule, micro-batches, balanced
    ("1f1b, M=8, unbalanced", "1f1b", 8, False),
    ("1f1b, M=8, balanced", "1f1b", 8, True),
    ("gpipe, M=8, balanced", "gpipe", 8, True),
    ("1f1b, M=2, balanced", "1f1b", 2, True),
]


def overrides(schedule, micro_batches, balanced):
    sets = ["parallel.pipeline=2", f"parallel.schedule={schedule}", "train.micro_batch=4",
            f"train.global_batch={4 * micro_batches}", "train.eval_interval=0", "model.layers=4"]
    if balanced:
        sets += ["model.vocab_size=256", "model.padded_vocab=256"]
    return [a for s in sets for a in ("--set", s)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    mtnlg = os.path.join(ROOT, "build", "bin", "mtnlg")
    recipe = os.path.join(ROOT, "recipes", "tiny-counting.toml")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name, schedule, m, balanced in CASES:
            sets = overrides(schedule, m, balanced)
            run = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", mtnlg, "--log-level", "debug", "train",
                                  recipe, "--steps", str(args.steps), "--run-dir", os.path.join(work, "run")] + sets,
                                 capture_output=True, text=True, env=env)
            if run.returncode != 0:
                sys.exit(f"pipeline-bubble: training failed:\n{run.stdout}{run.stderr}")
            total, waited = {}, {}
            for match in LINE.finditer(run.stdout + run.stderr):
                stage, step = int(match.group(1)), int(match.group(2))
                if step > args.warmup:
                    total[stage] = total.get(stage, 0.0) + float(match.group(3))
                    waited[stage] = waited.get(stage, 0.0) + float(match.group(4))
            plan_json = os.path.join(work, "plan.json")
            plan = subprocess.run([mtnlg, "plan", recipe, "--cluster", "cpu-laptop", "--nodes", "2", "--json",
                                   plan_json] + sets, capture_output=True, text=True)
            if plan.returncode != 0:
                sys.exit(f"pipeline-bubble: plan failed:\n{plan.stdout}{plan.stderr}")
            planned = {s["stage"]: s["idle_fraction"] for s in json.load(open(plan_json))["time"]["stages"]}
            for stage in sorted(total):
                rows.append((name, stage, waited[stage] / total[stage], planned[stage], 1 / (m + 1),
                             total[stage] / (args.steps - args.warmup)))
    print("| case | stage | measured idle | planned idle | textbook (P-1)/(M+P-1) | measured s/step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, stage, measured, planned, textbook, step in rows:
        print(f"| {name} | {stage} | {100 * measured:.1f}% | {100 * planned:.1f}% | {100 * textbook:.1f}% | {step:.3f} |")


if __name__ == "__main__":
    main()
