"""An independent PyTorch model of mtnlg's GPT, for differential testing and benchmarking.

The model is written here from PyTorch primitives (embedding lookup, F.linear, F.layer_norm, softmax,
cross-entropy), not taken from a model library, with exactly the architecture of plugins/layer/gpt/:

    x   = word_embeddings[tokens] + position_embeddings[:T]
    per block i (pre-LN):
        qkv = ln_1(x) @ qkv.weight.T + qkv.bias                (B, T, 3C), per head h: [q_h | k_h | v_h]
        a   = softmax(causal(q @ k.T / sqrt(d))) @ v           (B, H, T, d) -> (B, T, C)
        x   = x + a @ attention.proj.weight.T + attention.proj.bias
        x   = x + gelu_tanh(ln_2(x) @ fc.weight.T + fc.bias) @ mlp.proj.weight.T + mlp.proj.bias
    x      = final layernorm(x)                                (LayerNorm eps 1e-5 everywhere)
    logits = x @ word_embeddings.T                             (tied head; padded_vocab columns)
    loss   = mean over all B*T positions of cross-entropy over the first vocab_size columns

Parameters carry mtnlg's names ("0.word_embeddings", "1.attention.qkv.weight", "3.bias", ...). The optimizer
is torch.optim.AdamW with two groups: weight decay for the matrices and embeddings, none for biases and
LayerNorm parameters. torch's AdamW is the same update as mtnlg's adamw op:
    torch:  p <- p * (1 - lr*wd);  p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    mtnlg:  p <- p - lr * (m_hat / (sqrt(v_hat) + eps) + wd * p)
which are equal term by term (both decay the parameter as it was before the step).

Commands (run with /usr/bin/python3, where Debian's python3-torch and python3-numpy are installed):
    check DIR   compare a dump written by gpt_reference_test.cpp (see README.md) with this model;
                exit 1 naming every tensor that differs, with the largest difference
    bench ...   time training steps of this model in PyTorch eager mode (used by tools/bench/gpt-cpu)
"""

import argparse
import json
import math
import os
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as error:
    sys.exit(
        f"gpt_reference.py: cannot import torch and numpy with {sys.executable} ({error}): "
        "run tools/setup, which installs Debian's python3-torch and python3-numpy"
    )

LAYERNORM_EPS = 1e-5


def block_parameter_shapes(i, hidden):
    """Names and shapes of transformer block i's parameters (mtnlg's layer index i, from 1)."""
    c = hidden
    return {
        f"{i}.ln_1.weight": (c,),
        f"{i}.ln_1.bias": (c,),
        f"{i}.attention.qkv.weight": (3 * c, c),
        f"{i}.attention.qkv.bias": (3 * c,),
        f"{i}.attention.proj.weight": (c, c),
        f"{i}.attention.proj.bias": (c,),
        f"{i}.ln_2.weight": (c,),
        f"{i}.ln_2.bias": (c,),
        f"{i}.mlp.fc.weight": (4 * c, c),
        f"{i}.mlp.fc.bias": (4 * c,),
        f"{i}.mlp.proj.weight": (c, 4 * c),
        f"{i}.mlp.proj.bias": (c,),
    }


def parameter_shapes(cfg):
    """Every parameter of the model by mtnlg's name; the LM head's weight is the word embedding itself."""
    shapes = {
        "0.word_embeddings": (cfg["padded_vocab"], cfg["hidden"]),
        "0.position_embeddings": (cfg["seq_len"], cfg["hidden"]),
    }
    for i in range(1, cfg["layers"] + 1):
        shapes.update(block_parameter_shapes(i, cfg["hidden"]))
    final = cfg["layers"] + 1
    shapes[f"{final}.weight"] = (cfg["hidden"],)
    shapes[f"{final}.bias"] = (cfg["hidden"],)
    return shapes


def decays(name, cfg):
    """Whether AdamW decays this parameter: not biases, not LayerNorm gains and biases."""
    if name.endswith(".bias") or ".ln_" in name:
        return False
    return not name.startswith(f"{cfg['layers'] + 1}.")  # the final LayerNorm


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def forward(p, tokens, cfg, padded_logits=True):
    """Logits (B, T, padded_vocab) for token ids (B, T), or (B, T, vocab_size) without the padding columns.

    The padding columns are what mtnlg computes and what `check` compares; the benchmark leaves them out,
    as PyTorch code would: slicing them off costs eager PyTorch a copy and a zero-filled gradient of the
    whole (B*T, padded_vocab) logits per step, more than the 2% of the head's GEMM they add.
    """
    b, t = tokens.shape
    c, h = cfg["hidden"], cfg["heads"]
    d = c // h
    x = p["0.word_embeddings"][tokens] + p["0.position_embeddings"][:t]
    causal = torch.ones(t, t, dtype=torch.bool).triu(1)
    for i in range(1, cfg["layers"] + 1):
        y = F.layer_norm(x, (c,), p[f"{i}.ln_1.weight"], p[f"{i}.ln_1.bias"], LAYERNORM_EPS)
        qkv = F.linear(y, p[f"{i}.attention.qkv.weight"], p[f"{i}.attention.qkv.bias"])
        q, k, v = qkv.view(b, t, h, 3, d).transpose(1, 2).unbind(3)  # each (B, H, T, d)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        probs = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
        a = (probs @ v).transpose(1, 2).reshape(b, t, c)
        x = x + F.linear(a, p[f"{i}.attention.proj.weight"], p[f"{i}.attention.proj.bias"])
        y = F.layer_norm(x, (c,), p[f"{i}.ln_2.weight"], p[f"{i}.ln_2.bias"], LAYERNORM_EPS)
        y = gelu_tanh(F.linear(y, p[f"{i}.mlp.fc.weight"], p[f"{i}.mlp.fc.bias"]))
        x = x + F.linear(y, p[f"{i}.mlp.proj.weight"], p[f"{i}.mlp.proj.bias"])
    final = cfg["layers"] + 1
    x = F.layer_norm(x, (c,), p[f"{final}.weight"], p[f"{final}.bias"], LAYERNORM_EPS)
    head = p["0.word_embeddings"] if padded_logits else p["0.word_embeddings"][: cfg["vocab_size"]]
    return x @ head.t()


def loss_of(logits, targets, cfg):
    """Mean cross-entropy over all positions, over the real vocabulary (the padding columns are ignored)."""
    vocab = cfg["vocab_size"]
    if logits.shape[-1] != vocab:
        logits = logits[..., :vocab]
    return F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))


def adamw(p, cfg):
    decay = [t for name, t in p.items() if decays(name, cfg)]
    no_decay = [t for name, t in p.items() if not decays(name, cfg)]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg["lr"],
        betas=(cfg["beta1"], cfg["beta2"]),
        eps=cfg["eps"],
    )


# ---------------------------------------------------------------------------------------------------------
# check: compare a dump of mtnlg with this model

# The largest difference allowed, relative to the largest |value| of the PyTorch tensor. f64: the two sides
# differ only in the order of rounding (observed: at most 5e-15). f32: each side rounds every op to 24 bits,
# and mtnlg computes LayerNorm, softmax and cross-entropy in double inside (observed: at most 2e-6, in
# LayerNorm gains' gradients); an erf GeLU instead of the tanh one moves the f32 logits by ~3e-4.
TOLERANCE = {"f64": 1e-10, "f32": 2e-5}


class Comparison:
    def __init__(self, tolerance):
        self.tolerance = tolerance
        self.failures = []
        self.worst = {}  # kind -> (relative difference, tensor)
        self.count = 0

    def compare(self, kind, what, ours, ref):
        """Compare mtnlg's `ours` (numpy) with PyTorch's `ref` (tensor) for tensor `what` of kind `kind`."""
        ref = ref.detach().numpy().astype(np.float64)
        ours = np.asarray(ours, dtype=np.float64)
        self.count += 1
        if ours.size != ref.size:
            self.failures.append(f"MISMATCH {what}: mtnlg has shape {ours.shape}, torch {ref.shape}")
            return
        ours = ours.reshape(ref.shape)
        diff = np.abs(ours - ref)
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        worst = float(np.max(diff)) if diff.size else 0.0
        relative = worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf)
        if kind not in self.worst or relative > self.worst[kind][0]:
            self.worst[kind] = (relative, what)
        if not relative <= self.tolerance:  # NaN fails too
            at = np.unravel_index(int(np.nanargmax(diff)), diff.shape) if diff.size else ()
            self.failures.append(
                f"MISMATCH {what}: max |mtnlg - torch| = {worst:.3e} at {tuple(int(i) for i in at)} "
                f"(mtnlg {ours[at]:.17g}, torch {ref[at]:.17g}); relative to max |torch| = {scale:.3e}: "
                f"{relative:.3e} > tolerance {self.tolerance:.0e}"
            )


def load(path):
    return np.load(path, allow_pickle=False)


def check(directory):
    with open(os.path.join(directory, "manifest.json")) as f:
        cfg = json.load(f)
    dtype = {"f64": torch.float64, "f32": torch.float32}[cfg["dtype"]]
    torch.set_num_threads(1)
    problems = []

    # The parameter list is this file's knowledge of the architecture, not mtnlg's: they must agree.
    expected = parameter_shapes(cfg)
    dumped = {e["name"]: e for e in cfg["params"]}
    for name in sorted(set(expected) - set(dumped)):
        problems.append(f"MISSING parameter {name} {expected[name]}: PyTorch's model has it, mtnlg does not")
    for name in sorted(set(dumped) - set(expected)):
        shape = tuple(dumped[name]["shape"])
        problems.append(f"EXTRA parameter {name} {shape}: mtnlg has it, PyTorch's model does not")
    for name in sorted(set(expected) & set(dumped)):
        shape, decayed = tuple(dumped[name]["shape"]), dumped[name]["weight_decay"]
        if shape != expected[name]:
            problems.append(f"SHAPE of {name}: mtnlg {shape}, PyTorch {expected[name]}")
        if decayed != decays(name, cfg):
            problems.append(f"WEIGHT DECAY of {name}: mtnlg {decayed}, PyTorch {decays(name, cfg)}")
    if problems:
        print("\n".join(problems))
        return 1

    # Each step starts both sides from mtnlg's parameters, and torch's AdamW steps on mtnlg's gradients (once
    # they have been compared), so every comparison is of one computation given identical inputs. Without
    # that, rounding noise would be compared with rounding noise: the key bias's gradient is zero in exact
    # arithmetic (softmax ignores a constant added to a row of scores), and Adam scales any nonzero noise
    # in a gradient up to about ±lr.
    p = {name: torch.zeros(shape, dtype=dtype, requires_grad=True) for name, shape in expected.items()}
    optimizer = adamw(p, cfg)
    result = Comparison(TOLERANCE[cfg["dtype"]])
    before = os.path.join(directory, "initial")
    for step in range(1, cfg["steps"] + 1):
        step_dir = os.path.join(directory, f"step{step}")
        with torch.no_grad():
            for name, value in p.items():
                ours = torch.from_numpy(load(os.path.join(before, name + ".npy")))
                assert ours.dtype == dtype, f"{name}: dumped as {ours.dtype}, the manifest says {cfg['dtype']}"
                value.copy_(ours)
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for mb in range(cfg["micro_batches"]):
            tokens = torch.from_numpy(load(os.path.join(step_dir, f"tokens_mb{mb}.npy"))).long()
            targets = torch.from_numpy(load(os.path.join(step_dir, f"targets_mb{mb}.npy"))).long()
            logits = forward(p, tokens, cfg)
            ours = load(os.path.join(step_dir, f"logits_mb{mb}.npy"))
            flat = logits.reshape(-1, logits.shape[-1])  # (B*T, padded_vocab), as mtnlg's LM head keeps them
            result.compare("logits", f"step {step} logits (micro-batch {mb})", ours, flat)
            # Each micro-batch's mean loss weighs 1/M, as in mtnlg's gradient accumulation.
            loss = loss_of(logits, targets, cfg) / cfg["micro_batches"]
            loss.backward()
            total = total + loss.detach()
        result.compare("loss", f"step {step} loss", load(os.path.join(step_dir, "loss.npy")), total.reshape(1))
        for name, value in p.items():
            ours = load(os.path.join(step_dir, "grad", name + ".npy"))
            result.compare("gradient", f"step {step} gradient of {name}", ours, value.grad)
            value.grad = torch.from_numpy(ours)
        optimizer.step()
        for name, value in p.items():
            result.compare("AdamW update", f"step {step} {name} after AdamW",
                           load(os.path.join(step_dir, "param", name + ".npy")), value)
        before = os.path.join(step_dir, "param")

    for line in result.failures:
        print(line)
    print(f"gpt_reference.py: {cfg['dtype']}, {result.count} tensors compared, tolerance "
          f"{result.tolerance:.0e} relative to each tensor's max |value|; worst relative difference:")
    for kind, (relative, what) in result.worst.items():
        print(f"  {kind:13s} {relative:.2e}  ({what})")
    if result.failures:
        print(f"FAILED: {len(result.failures)} of {result.count} tensors differ beyond the tolerance")
        return 1
    print("OK: mtnlg matches PyTorch")
    return 0


# ---------------------------------------------------------------------------------------------------------
# bench: time training steps of the same model in PyTorch eager mode


def initial_parameters(cfg, generator):
    """mtnlg's initialisation: normal(0, init_std) matrices and embeddings, the two residual projections
    scaled by 1/sqrt(2 * layers), zero biases and padding rows, unit LayerNorm gains."""
    p = {}
    for name, shape in parameter_shapes(cfg).items():
        if name.endswith(".bias"):
            value = torch.zeros(shape)
        elif decays(name, cfg):
            std = cfg["init_std"]
            if name.endswith("proj.weight"):
                std /= math.sqrt(2.0 * cfg["layers"])
            value = torch.randn(shape, generator=generator) * std
            if name == "0.word_embeddings":
                value[cfg["vocab_size"]:] = 0.0
        else:
            value = torch.ones(shape)
        p[name] = value.requires_grad_(True)
    return p


def bench(args):
    torch.set_num_threads(args.threads)
    cfg = {
        "layers": args.layers, "hidden": args.hidden, "heads": args.heads, "seq_len": args.seq_len,
        "vocab_size": args.vocab_size, "padded_vocab": args.padded_vocab, "init_std": 0.02,
        "lr": args.lr, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.01,
    }
    generator = torch.Generator().manual_seed(1234)
    p = initial_parameters(cfg, generator)
    optimizer = adamw(p, cfg)
    times, losses = [], []
    for _ in range(args.warmup + args.steps):
        start = time.perf_counter()
        # Random tokens, as mtnlg's synthetic "random" reader gives: inputs and next-token targets.
        sequence = torch.randint(0, args.vocab_size, (args.micro_batch, args.seq_len + 1), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(forward(p, sequence[:, :-1], cfg, padded_logits=False), sequence[:, 1:], cfg)
        loss.backward()
        if args.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(list(p.values()), args.clip_grad)
        optimizer.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)
    print(json.dumps({"step_time_s": times[args.warmup:], "warmup_time_s": times[:args.warmup],
                      "loss": losses, "threads": torch.get_num_threads(),
                      "parameters": sum(t.numel() for t in p.values())}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="compare a dump of mtnlg (gpt_reference_test.cpp) with this model")
    c.add_argument("directory")
    b = sub.add_parser("bench", help="time training steps in PyTorch eager mode; prints JSON")
    for key in ("layers", "hidden", "heads", "seq-len", "vocab-size", "padded-vocab", "micro-batch"):
        b.add_argument("--" + key, type=int, required=True)
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--lr", type=float, default=6e-4)
    b.add_argument("--clip-grad", type=float, default=0.0)
    args = parser.parse_args()
    return check(args.directory) if args.command == "check" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
