#!/usr/bin/env python3
"""PyTorch GPT-2 training benchmark: the baseline mtnlg's CUDA backend is measured against.

A GPT-2 (pre-LN, tanh GeLU, tied word embedding, learned positions, no dropout, vocabulary padded) trained
on random tokens: every timed step is a full optimizer step, i.e. zero_grad, forward, backward, gradient
clipping and AdamW (fused=True where this torch has it). bf16 by torch.autocast with f32 master weights
(the standard recipe), or --dtype f32 with TF32 matmuls (like mtnlg's f32 with backend.tf32 = true).
Attention is F.scaled_dot_product_attention(is_causal=True). --mode eager or compile (torch.compile).

Step times come from CUDA events around each step after --warmup steps (on the CPU: wall time); the median
is reported. Model FLOPs per token, as in ../shared/DESIGN.md and mtnlg's metrics.jsonl (Narayanan et al.,
no recomputation; V is the padded vocabulary):

    72 * l * h^2 * (1 + s / (6 h) + V / (12 l h))

MFU = FLOPs per token * tokens/s / --peak. The default peak is the H100/H200 SXM dense figure for the
dtype: 989e12 for bf16, 494.5e12 for f32 (TF32 tensor cores).

Standard library and torch only. Runs on the CPU at tiny size for a dry run (--device cpu); there compile
mode is skipped with a message when this torch has no torch.compile.
"""

import argparse
import gc
import inspect
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PEAKS = {"bf16": 989e12, "f32": 494.5e12}  # H100/H200 SXM, dense: bf16 tensor cores, TF32 tensor cores
PEAK_NAMES = {"bf16": "bf16 dense", "f32": "TF32 dense"}


def flops_per_token(layers, hidden, seq, vocab):
    """Model FLOPs per token of one training step (forward + backward), DESIGN.md's 72· formula."""
    l, h, s, v = float(layers), float(hidden), float(seq), float(vocab)
    return 72.0 * l * h * h * (1.0 + s / (6.0 * h) + v / (12.0 * l * h))


class Block(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(hidden)
        self.c_attn = nn.Linear(hidden, 3 * hidden)
        self.c_proj = nn.Linear(hidden, hidden)
        self.ln_2 = nn.LayerNorm(hidden)
        self.c_fc = nn.Linear(hidden, 4 * hidden)
        self.mlp_proj = nn.Linear(4 * hidden, hidden)

    def attention(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch < 2.0 (the CPU dry run's Debian torch 1.13): the same math, unfused
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            y = att.masked_fill(~mask, float("-inf")).softmax(dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, layers, hidden, heads, seq, vocab):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(seq, hidden)
        self.blocks = nn.ModuleList(Block(hidden, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied
        for name, p in self.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        t = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        # Over all padded-vocabulary logits, as nanoGPT does; mtnlg's head also computes the padded logits
        # (the FLOPs formula counts V = padded) and takes the cross-entropy over the real ones.
        return F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.view(-1))


def is_oom(e):
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom is not None and isinstance(e, oom)) or "out of memory" in str(e).lower()


def free_memory(device):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def make_optimizer(model, lr, device):
    kwargs = dict(lr=lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    if "fused" in inspect.signature(torch.optim.AdamW).parameters:
        try:
            return torch.optim.AdamW(model.parameters(), fused=True, **kwargs), True
        except (RuntimeError, TypeError, ValueError):
            pass  # fused AdamW not supported on this device/dtype: the default (foreach) implementation
    return torch.optim.AdamW(model.parameters(), **kwargs), False


class Trainer:
    """One model + optimizer + batches at a fixed micro-batch; step() is one full training step."""

    def __init__(self, args, device, micro_batch, compile_model):
        self.args, self.device = args, device
        torch.manual_seed(args.seed)
        self.model = GPT(args.layers, args.hidden, args.heads, args.seq, args.vocab).to(device)
        self.opt, self.fused = make_optimizer(self.model, args.lr, device)
        self.forward = torch.compile(self.model) if compile_model else self.model
        # A few distinct batches of random tokens, made up front so that the step times hold no data work.
        # Targets are drawn from the real vocabulary, as a tokenizer's ids would be.
        n = 4
        self.batches = [
            (torch.randint(0, args.real_vocab, (micro_batch, args.seq), device=device),
             torch.randint(0, args.real_vocab, (micro_batch, args.seq), device=device))
            for _ in range(n)
        ]
        self.i = 0

    def step(self):
        x, y = self.batches[self.i % len(self.batches)]
        self.i += 1
        self.opt.zero_grad(set_to_none=True)
        if self.args.dtype == "bf16":
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16):
                loss = self.forward(x, y)
        else:
            loss = self.forward(x, y)
        loss.backward()
        if self.args.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.args.clip)
        self.opt.step()
        return loss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def probe(args, device, micro_batch):
    """True when two eager steps at this micro-batch fit (the second one holds the AdamW moments too)."""
    trainer, failed = None, False
    try:
        trainer = Trainer(args, device, micro_batch, compile_model=False)
        for _ in range(2):
            trainer.step()
        sync(device)
    except (RuntimeError, MemoryError) as e:
        if not is_oom(e):
            raise
        failed = True
    # Out of the except block, so that the traceback no longer holds the failed step's tensors.
    del trainer
    free_memory(device)
    return not failed


def pick_micro_batch(args, device):
    mb = 1 << int(math.log2(args.max_micro_batch))
    while mb >= 1:
        t0 = time.perf_counter()
        ok = probe(args, device, mb)
        log(f"auto micro-batch: {mb} {'fits' if ok else 'is out of memory'} ({time.perf_counter() - t0:.1f} s)")
        if ok:
            return mb
        mb //= 2
    raise SystemExit("error: out of memory even at micro-batch 1")


def timed_run(args, device, micro_batch, compile_model):
    trainer = Trainer(args, device, micro_batch, compile_model)
    t0 = time.perf_counter()
    for i in range(args.warmup):
        trainer.step()
        if i == 0:
            sync(device)
            log(f"first step (includes compilation: {compile_model}): {time.perf_counter() - t0:.1f} s")
    sync(device)
    warmup_s = time.perf_counter() - t0
    times = []
    wall0 = time.perf_counter()
    if device.type == "cuda":
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(args.steps)]
        for start, end in events:
            start.record()
            loss = trainer.step()
            end.record()
        sync(device)
        times = [start.elapsed_time(end) / 1e3 for start, end in events]
    else:
        for _ in range(args.steps):
            t = time.perf_counter()
            loss = trainer.step()
            times.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall0
    result = {
        "step_times_s": times,
        "wall_s_per_step": wall / args.steps,
        "warmup_s": warmup_s,
        "final_loss": float(loss.item()),
        "fused_adamw": trainer.fused,
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
    }
    if device.type == "cuda":
        result["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    del trainer
    free_memory(device)
    return result


def log(msg):
    print(f"[torch_gpt2] {msg}", file=sys.stderr, flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--seq", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=50304, help="embedding rows (padded vocabulary; FLOPs use it)")
    p.add_argument("--real-vocab", type=int, default=50257, help="tokens are drawn from [0, real-vocab)")
    p.add_argument("--micro-batch", default="auto",
                   help="samples per step, or 'auto': the largest power of two <= --max-micro-batch that fits")
    p.add_argument("--max-micro-batch", type=int, default=64, help="cap of 'auto' (default 64)")
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compilation happens here)")
    p.add_argument("--mode", choices=["eager", "compile"], default="eager")
    p.add_argument("--dtype", choices=["bf16", "f32"], default="bf16",
                   help="bf16: autocast with f32 master weights; f32: f32 with TF32 matmuls")
    p.add_argument("--no-tf32", action="store_true", help="with --dtype f32: full-f32 matmuls (then give --peak)")
    p.add_argument("--peak", type=float, default=None,
                   help="peak FLOP/s for MFU (default: 989e12 for bf16, 494.5e12 for f32/TF32: H100/H200 SXM dense)")
    p.add_argument("--peak-name", default=None, help="what --peak is, for the output")
    p.add_argument("--lr", type=float, default=6e-4)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping as mtnlg's clip_grad; 0 = off")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--device", default="cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    p.add_argument("--json", help="write the result here as JSON")
    p.add_argument("--label", default="", help="a free-form name copied into the JSON (e.g. the config)")
    args = p.parse_args()

    device = torch.device(args.device)
    if args.hidden % args.heads:
        p.error("--heads must divide --hidden")
    if args.real_vocab > args.vocab:
        args.real_vocab = args.vocab
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("error: CUDA is not available (use --device cpu for a dry run)")
        # "cuda" without an index is refused by set_device on torch 2.11 (seen on the lent H200): name one.
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    tf32 = args.dtype == "f32" and not args.no_tf32 and device.type == "cuda"
    if args.dtype == "f32" and hasattr(torch, "set_float32_matmul_precision"):
        # The legacy switch only: torch >= 2.9 raises "mix of the legacy and new APIs" inside torch.compile
        # (inductor still reads the legacy flag) once the new torch.backends.*.fp32_precision API was written.
        torch.set_float32_matmul_precision("high" if tf32 else "highest")
    if args.peak is None:
        if args.dtype == "f32" and args.no_tf32 and device.type == "cuda":
            p.error("--no-tf32 needs --peak (H100 SXM f32 without tensor cores: 67e12)")
        args.peak = PEAKS[args.dtype]
        peak_name = PEAK_NAMES[args.dtype]
    else:
        peak_name = args.peak_name or "--peak"
    dtype_name = "bf16 autocast" if args.dtype == "bf16" else ("f32/TF32" if tf32 else "f32")

    result = {
        "framework": "pytorch", "label": args.label, "mode": args.mode, "dtype": dtype_name,
        "layers": args.layers, "hidden": args.hidden, "heads": args.heads, "seq": args.seq, "vocab": args.vocab,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__, "peak_flops": args.peak, "peak_name": peak_name,
        "warmup_steps": args.warmup, "steps": args.steps,
    }
    if args.mode == "compile" and not hasattr(torch, "compile"):
        msg = f"compile mode skipped: torch {torch.__version__} has no torch.compile"
        log(msg)
        result.update(skipped=msg)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=1)
        print(msg)
        return 0

    log(f"{result['device']}, torch {torch.__version__}, {args.mode}, {dtype_name}, "
        f"{args.layers} layers, hidden {args.hidden}, heads {args.heads}, seq {args.seq}, vocab {args.vocab}")
    if args.micro_batch == "auto":
        micro_batch = pick_micro_batch(args, device)  # probed in eager mode: compiled graphs need less
    else:
        micro_batch = int(args.micro_batch)
    while True:
        try:
            run = timed_run(args, device, micro_batch, args.mode == "compile")
            break
        except (RuntimeError, MemoryError) as e:
            if not (is_oom(e) and args.micro_batch == "auto" and micro_batch > 1):
                raise
            oom_at = micro_batch
        free_memory(device)
        if hasattr(torch, "_dynamo"):
            torch._dynamo.reset()
        micro_batch //= 2
        log(f"out of memory at micro-batch {oom_at} in the timed run; retrying at {micro_batch}")

    median = statistics.median(run["step_times_s"])
    tokens = micro_batch * args.seq
    fpt = flops_per_token(args.layers, args.hidden, args.seq, args.vocab)
    result.update(run)
    result.update(
        micro_batch=micro_batch, tokens_per_step=tokens, median_step_time_s=median,
        tokens_per_s=tokens / median, flops_per_token=fpt,
        tflops_per_s=fpt * tokens / median / 1e12, mfu=fpt * tokens / median / args.peak,
    )
    line = (f"{args.mode} {dtype_name} micro-batch {micro_batch}: median step {median * 1e3:.2f} ms, "
            f"{result['tokens_per_s']:.0f} tokens/s, {result['tflops_per_s']:.1f} TFLOP/s, "
            f"MFU {100 * result['mfu']:.1f}% of {args.peak / 1e12:g} TFLOP/s ({peak_name})")
    print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
