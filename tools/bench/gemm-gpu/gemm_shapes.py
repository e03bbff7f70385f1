#!/usr/bin/env python3
"""gemm-gpu: achieved TFLOP/s of a transformer block's GEMMs at one tensor-parallel rank's shapes, on this GPU.

The planner's `gemm_efficiency` (recipes/clusters/*.toml) should come from a measurement of the recipe's own
shapes. This measures them with PyTorch's matmul (cuBLAS), the shapes of one micro-batch on one of `--tensor`
ranks (Megatron's column/row splits), in bf16 by default: QKV (bs, h) x (h, 3h/t), attention projection
(bs, h/t) x (h/t, h), MLP up (bs, h) x (h, 4h/t), MLP down (bs, 4h/t) x (4h/t, h), and the attention core's
batched QK^T and PV over a/t heads. Each forward GEMM is timed, and the two backward GEMMs of each linear
layer (input gradient, weight gradient) with their own shapes. It prints one row per GEMM and the
FLOP-weighted efficiency of the block: the number to put into the cluster file, with the GPU, driver, CUDA and
PyTorch versions it was measured with. Defaults: MT-NLG 530B at TP 8 (hidden 20480, 128 heads, seq 2048,
micro-batch 1).

    python3 tools/bench/gemm-gpu/gemm_shapes.py [--hidden 20480] [--heads 128] [--seq 2048] [--micro-batch 1]
                                                [--tensor 8] [--dtype bf16] [--peak TFLOPS] [--iters 50]
"""

import argparse
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=20480)
    p.add_argument("--heads", type=int, default=128)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--tensor", type=int, default=8)
    p.add_argument("--dtype", choices=["bf16", "fp16", "tf32"], default="bf16")
    p.add_argument("--peak", type=float, default=0.0,
                   help="dense peak TFLOP/s of this GPU for the dtype (default: H100/H200 989, A100 312)")
    p.add_argument("--iters", type=int, default=50)
    a = p.parse_args()
    import torch
    if not torch.cuda.is_available():
        sys.exit("gemm-gpu: no CUDA device")
    name = torch.cuda.get_device_name(0)
    peak = a.peak or (312.0 if "A100" in name else 989.0)
    if a.dtype == "tf32":
        torch.backends.cuda.matmul.allow_tf32 = True
        dtype = torch.float32
        peak = a.peak or peak / 2
    else:
        dtype = torch.bfloat16 if a.dtype == "bf16" else torch.float16
    h, t, bs = a.hidden, a.tensor, a.micro_batch * a.seq
    heads, d = a.heads // t, a.hidden // a.heads
    # (label, batch, m, k, n): C (batch, m, n) = A (batch, m, k) @ B (batch, k, n)
    linear = [("qkv", bs, h, 3 * h // t), ("attention out", bs, h // t, h), ("mlp up", bs, h, 4 * h // t),
              ("mlp down", bs, 4 * h // t, h)]
    gemms = []
    for label, m, k, n in linear:
        gemms += [(f"{label} forward", 1, m, k, n), (f"{label} input grad", 1, m, n, k),
                  (f"{label} weight grad", 1, k, m, n)]
    gemms += [("scores QK^T", a.micro_batch * heads, a.seq, d, a.seq),
              ("probabilities x V", a.micro_batch * heads, a.seq, a.seq, d)]
    print(f"gemm-gpu: {name}, torch {torch.__version__}, CUDA {torch.version.cuda}, {a.dtype}, peak {peak} TFLOP/s")
    print("| GEMM | batch x (m, k, n) | ms | TFLOP/s | of peak |")
    print("| --- | --- | ---: | ---: | ---: |")
    total_flops = total_s = 0.0
    for label, batch, m, k, n in gemms:
        x = torch.randn(batch, m, k, device="cuda", dtype=dtype)
        y = torch.randn(batch, k, n, device="cuda", dtype=dtype)
        for _ in range(5):
            torch.matmul(x, y)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(a.iters):
            torch.matmul(x, y)
        end.record()
        torch.cuda.synchronize()
        s = start.elapsed_time(end) / 1e3 / a.iters
        flops = 2.0 * batch * m * k * n
        total_flops += flops
        total_s += s
        print(f"| {label} | {batch} x ({m}, {k}, {n}) | {s * 1e3:.3f} | {flops / s / 1e12:.1f} | "
              f"{100 * flops / s / 1e12 / peak:.1f}% |")
    print(f"block (FLOP-weighted): {total_flops / total_s / 1e12:.1f} TFLOP/s = "
          f"gemm_efficiency {total_flops / total_s / 1e12 / peak:.3f}")


if __name__ == "__main__":
    main()
