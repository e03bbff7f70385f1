#!/usr/bin/env python3
"""attention-gpu's PyTorch rows: torch.nn.functional.scaled_dot_product_attention (causal) at the shapes and
with the FLOP convention of attention_bench.cu (forward 2·B·H·T²·d, backward 2.5 times that), timed with CUDA
events over --iters calls after 3 warm-ups. Prints table rows only (attention_bench.cu prints the header)."""

import argparse
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--dtype", choices=["bf16", "f16"], default="bf16")
    a = p.parse_args()
    import torch
    import torch.nn.functional as F
    if not torch.cuda.is_available():
        sys.exit("attention-gpu: no CUDA device for PyTorch")
    dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float16

    def timed(fn):
        for _ in range(3):
            fn()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(a.iters):
            fn()
        stop.record()
        torch.cuda.synchronize()
        return start.elapsed_time(stop) / a.iters

    for model, b, h, t, d in [("gpt2-124m", 32, 12, 1024, 64), ("gpt-1.3b", 4, 16, 2048, 128)]:
        q, k, v = (torch.rand(b, h, t, d, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
        dout = torch.rand(b, h, t, d, device="cuda", dtype=dtype)
        flops = 2.0 * b * h * t * t * d
        with torch.no_grad():
            fwd = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        bwd = timed(lambda: torch.autograd.grad(out, (q, k, v), dout, retain_graph=True))
        print(f"| {model} | {b} x {h} x {t} x {d} | PyTorch {torch.__version__} SDPA | {fwd:.3f} | "
              f"{flops / fwd / 1e9:.1f} | {bwd:.3f} | {2.5 * flops / bwd / 1e9:.1f} |", flush=True)


if __name__ == "__main__":
    main()
