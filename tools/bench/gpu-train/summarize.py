#!/usr/bin/env python3
"""Rows and the table of tools/bench/gpu-train/run.sh. Standard library only.

  summarize.py mtnlg ROW.json --metrics RUN/metrics.jsonl --rc RC --log LOG --config C --mode M
               --micro-batch N --steps N [--skip 2] --peak P --peak-name NAME [--timeout S] [--note TEXT]
  summarize.py torch ROW.json --result R.json --rc RC --log LOG --config C --mode M --micro-batch-asked X
               [--timeout S]
  summarize.py failed ROW.json --config C --framework F --mode M --why TEXT [--log LOG]
  summarize.py table ROWS_DIR [--md OUT.md] [--json OUT.json]

Each row is one JSON file; `table` prints the rows in file-name order as one markdown table.
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys

TAIL_LINES = 3
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def log_tail(path, n=TAIL_LINES):
    """The last n non-empty lines of a log, for a FAILED row (torch's tracebacks end in the error line)."""
    try:
        with open(path, errors="replace") as f:
            lines = [ANSI.sub("", l).strip() for l in f.read().splitlines()]
    except OSError:
        return "(no log)"
    lines = [l for l in lines if l]
    if not lines:
        return "(empty log)"
    return " / ".join(l if len(l) <= 200 else l[:197] + "..." for l in lines[-n:])


def exit_reason(rc, timeout):
    if rc in (124, 137):
        return f"timed out after {timeout} s" if timeout else f"timed out (exit {rc})"
    if rc > 128:
        return f"killed by signal {rc - 128}"
    return f"exit {rc}"


def write(path, row):
    with open(path, "w") as f:
        json.dump(row, f, indent=1)


def failed_row(config, framework, mode, micro_batch, why, log=None):
    return {"config": config, "framework": framework, "mode": mode, "micro_batch": micro_batch,
            "status": "failed", "why": why, "log_tail": log_tail(log) if log else "", "log": log or ""}


def cmd_mtnlg(a):
    steps = []
    try:
        with open(a.metrics) as f:
            steps = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError):
        pass
    base = {"config": a.config, "framework": "mtnlg", "mode": a.mode, "micro_batch": a.micro_batch,
            "log": a.log, "metrics": a.metrics}
    complete = len(steps) >= a.steps
    # A run that timed out after some timed steps still measured them: a row with a note, not FAILED.
    partial = a.rc in (124, 137) and len(steps) > a.skip
    if a.rc != 0 and not complete and not partial:
        why = exit_reason(a.rc, a.timeout) + (f" ({a.note})" if a.note else "")
        row = failed_row(a.config, "mtnlg", a.mode, a.micro_batch, why, a.log)
        row["steps_done"] = len(steps)
        return write(a.out, row)
    note = a.note
    if a.rc != 0:
        where = "after the last step" if complete else f"at step {len(steps)} of {a.steps}"
        note = (note + "; " if note else "") + f"{exit_reason(a.rc, a.timeout)} {where}"
    timed = steps[a.skip:]
    if not timed:
        timed = steps
        note = (note + "; " if note else "") + f"only {len(steps)} steps: no warm-up skipped"
    if not timed:
        return write(a.out, failed_row(a.config, "mtnlg", a.mode, a.micro_batch, "no steps in metrics.jsonl",
                                       a.log))
    times = [s["step_time_s"] for s in timed]
    median = statistics.median(times)
    # Per step: tokens = tokens_per_s * step_time_s, FLOPs = tflops_per_device * 1e12 * step_time_s (mtnlg's
    # metrics use DESIGN.md's 72· formula with the padded vocabulary, the same as torch_gpt2.py's).
    s0 = timed[0]
    tokens = s0["tokens_per_s"] * s0["step_time_s"]
    flops = s0["tflops_per_device"] * 1e12 * s0["step_time_s"]
    row = dict(base, status="ok", note=note, steps=len(steps), timed_steps=len(timed), skip=len(steps) - len(timed),
               step_times_s=[s["step_time_s"] for s in steps], median_step_time_s=median,
               tokens_per_step=round(tokens), tokens_per_s=tokens / median,
               flops_per_token=flops / tokens, tflops_per_s=flops / median / 1e12,
               peak_flops=a.peak, peak_name=a.peak_name, mfu=flops / median / a.peak,
               final_loss=steps[-1].get("loss"))
    write(a.out, row)


def cmd_torch(a):
    result = None
    try:
        with open(a.result) as f:
            result = json.load(f)
    except (OSError, ValueError):
        pass
    mode = f"{a.mode}"
    if result is not None:
        mode = f"{result.get('mode', a.mode)}, {result.get('dtype', '')}".strip(", ")
    if a.rc != 0 or result is None:
        return write(a.out, failed_row(a.config, "pytorch", mode, a.micro_batch_asked,
                                       exit_reason(a.rc, a.timeout) if a.rc else "no result JSON", a.log))
    if "skipped" in result:
        return write(a.out, {"config": a.config, "framework": "pytorch", "mode": mode,
                             "micro_batch": a.micro_batch_asked, "status": "skipped", "why": result["skipped"],
                             "log": a.log})
    row = {"config": a.config, "framework": "pytorch", "mode": mode, "status": "ok", "note": "",
           "log": a.log, "result": a.result}
    row.update({k: result[k] for k in ("micro_batch", "tokens_per_s", "median_step_time_s", "mfu", "peak_flops",
                                       "peak_name", "tflops_per_s", "flops_per_token", "step_times_s",
                                       "device", "torch", "warmup_steps", "steps") if k in result})
    write(a.out, row)


def cmd_failed(a):
    row = failed_row(a.config, a.framework, a.mode, a.micro_batch, a.why, a.log)
    if a.status:
        row["status"] = a.status
    write(a.out, row)


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def fmt_tokens(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def cmd_table(a):
    rows = []
    for path in sorted(glob.glob(os.path.join(a.rows, "*.json"))):
        with open(path) as f:
            rows.append(json.load(f))
    out = ["| config | framework | mode / dtype | micro-batch | ms/step | tokens/s | MFU % |",
           "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    peaks, timing = {}, {}
    for r in rows:
        status = r.get("status")
        if status == "ok" and r["framework"] == "mtnlg":
            timing[f"mtnlg: the median of metrics.jsonl's step_time_s after skipping the first {r['skip']} of "
                   f"{r['steps']} steps"] = True
        elif status == "ok":
            clock = "wall clock" if r.get("device") == "cpu" else "CUDA events"
            timing[f"PyTorch: the median of {r.get('steps')} steps timed by {clock} after "
                   f"{r.get('warmup_steps')} warm-up steps"] = True
        if status == "ok":
            mode = r["mode"] + (f" ({r['note']})" if r.get("note") else "")
            peaks[f"{r['peak_flops'] / 1e12:g} TFLOP/s ({r['peak_name']})"] = True
            mfu = r["mfu"] * 100
            mfu_text = f"{mfu:.1f}" if mfu >= 0.1 else f"{mfu:.2g}"  # CPU dry runs: tiny but not zero
            out.append(f"| {cell(r['config'])} | {r['framework']} | {cell(mode)} | {r['micro_batch']} | "
                       f"{r['median_step_time_s'] * 1e3:.1f} | {fmt_tokens(r['tokens_per_s'])} | {mfu_text} |")
        else:
            word = "SKIPPED" if status == "skipped" else "FAILED"
            why = r.get("why", "")
            tail = r.get("log_tail", "")
            text = f"{word}: {why}" + (f": {tail}" if tail else "")
            out.append(f"| {cell(r['config'])} | {r['framework']} | {cell(r.get('mode', ''))} | "
                       f"{cell(r.get('micro_batch', ''))} | {cell(text)} | | |")
    notes = ["",
             "tokens/s = micro-batch x seq / step time (" + ("; ".join(timing) or "no timings") + "). "
             "MFU = 72*l*h^2*(1 + s/(6h) + V/(12*l*h)) FLOPs per token (V = padded vocabulary) x tokens/s / peak; "
             "peaks: " + ("; ".join(peaks) or "none") + "."]
    text = "\n".join(out + notes)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    if a.json:
        write(a.json, rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    m = sub.add_parser("mtnlg")
    m.add_argument("out")
    m.add_argument("--metrics", required=True)
    m.add_argument("--rc", type=int, required=True)
    m.add_argument("--log", required=True)
    m.add_argument("--config", required=True)
    m.add_argument("--mode", required=True)
    m.add_argument("--micro-batch", type=int, required=True)
    m.add_argument("--steps", type=int, required=True)
    m.add_argument("--skip", type=int, default=2)
    m.add_argument("--peak", type=float, required=True)
    m.add_argument("--peak-name", required=True)
    m.add_argument("--timeout", type=int, default=0)
    m.add_argument("--note", default="", help="appended to the row's mode (e.g. micro-batches that ran out of memory)")

    t = sub.add_parser("torch")
    t.add_argument("out")
    t.add_argument("--result", required=True)
    t.add_argument("--rc", type=int, required=True)
    t.add_argument("--log", required=True)
    t.add_argument("--config", required=True)
    t.add_argument("--mode", required=True)
    t.add_argument("--micro-batch-asked", required=True)
    t.add_argument("--timeout", type=int, default=0)

    f = sub.add_parser("failed")
    f.add_argument("out")
    f.add_argument("--config", required=True)
    f.add_argument("--framework", required=True)
    f.add_argument("--mode", required=True)
    f.add_argument("--micro-batch", default="")
    f.add_argument("--why", required=True)
    f.add_argument("--log")
    f.add_argument("--status", choices=["failed", "skipped"])

    tb = sub.add_parser("table")
    tb.add_argument("rows")
    tb.add_argument("--md")
    tb.add_argument("--json")

    a = p.parse_args()
    {"mtnlg": cmd_mtnlg, "torch": cmd_torch, "failed": cmd_failed, "table": cmd_table}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
