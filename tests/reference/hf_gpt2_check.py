"""Checks an `mtnlg convert --to hf-gpt2` export against the mtnlg checkpoint it came from.

    /usr/bin/python3 tests/reference/hf_gpt2_check.py HF_DIR MTNLG_CHECKPOINT [--transformers]

HF_DIR/model.safetensors (read here from the format's specification, with numpy) and HF_DIR/config.json go
through a GPT-2 forward pass written in Hugging Face's layout (Conv1D weights [in, out], c_attn as [q | k | v],
the config's epsilon and gelu_new); the checkpoint's parameters (manifest.toml + parameters.bin) go through
gpt_reference.forward, the PyTorch model that tests/reference checks against mtnlg itself. Both run in
float64 on the same random tokens, so any difference comes from the conversion, not rounding: their logits
must agree to 1e-9 of their largest value. With --transformers, GPT2LMHeadModel.from_pretrained(HF_DIR) must
give the same logits too (where the transformers package is installed; CI has none).
Exit 1 naming the largest difference otherwise.
"""

import json
import math
import os
import sys

try:
    import tomllib  # Python 3.11+
except ImportError:  # older images: the same parser under its PyPI name
    import tomli as tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_reference  # noqa: E402  (numpy and torch, or a clear message)
from gpt_reference import np, torch, F  # noqa: E402

DTYPES = {"F32": np.float32, "F64": np.float64}
TOLERANCE = 1e-9


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float64))
    return tensors


def gelu_new(x):  # GPT-2's: the tanh approximation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def hf_forward(w, config, tokens):
    """GPT-2 as Hugging Face lays it out: (B, T) token ids -> (B, T, vocab_size) logits."""
    b, t = tokens.shape
    c, h, eps = config["n_embd"], config["n_head"], config["layer_norm_epsilon"]
    d = c // h
    w = {k.removeprefix("transformer."): v for k, v in w.items()}
    x = w["wte.weight"][tokens] + w["wpe.weight"][:t]
    causal = torch.ones(t, t, dtype=torch.bool).triu(1)
    for i in range(config["n_layer"]):
        p = lambda name: w[f"h.{i}.{name}"]  # noqa: E731
        y = F.layer_norm(x, (c,), p("ln_1.weight"), p("ln_1.bias"), eps)
        qkv = y @ p("attn.c_attn.weight") + p("attn.c_attn.bias")  # Conv1D: x @ W[in, out] + b
        q, k, v = (part.view(b, t, h, d).transpose(1, 2) for part in qkv.split(c, dim=2))
        probs = torch.softmax(((q @ k.transpose(-1, -2)) / math.sqrt(d)).masked_fill(causal, float("-inf")), -1)
        a = (probs @ v).transpose(1, 2).reshape(b, t, c)
        x = x + a @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        y = F.layer_norm(x, (c,), p("ln_2.weight"), p("ln_2.bias"), eps)
        x = x + gelu_new(y @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias")) @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
    x = F.layer_norm(x, (c,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].t()


def mtnlg_parameters(checkpoint):
    with open(os.path.join(checkpoint, "manifest.toml"), "rb") as f:
        manifest = tomllib.load(f)
    dtype = {"f32": np.float32, "f64": np.float64}[manifest["dtype"]]
    flat = np.fromfile(os.path.join(checkpoint, "parameters.bin"), dtype=dtype)
    params = {}
    for entry in manifest["parameters"]:
        n = int(np.prod(entry["shape"]))
        params[entry["name"]] = torch.from_numpy(
            flat[entry["offset"]: entry["offset"] + n].reshape(entry["shape"]).astype(np.float64))
    return params


def compare(what, ours, ref):
    scale = max(float(ref.abs().max()), 1e-30)
    worst = float((ours - ref).abs().max()) / scale
    print(f"{what}: logits {tuple(ours.shape)}, max |difference| / max |logit| = {worst:.3e}")
    return worst <= TOLERANCE


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    hf_dir, checkpoint = args
    with open(os.path.join(hf_dir, "config.json")) as f:
        config = json.load(f)
    weights = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    with open(os.path.join(checkpoint, "recipe.toml"), "rb") as f:
        model = tomllib.load(f)["model"]
    cfg = {"hidden": model["hidden"], "heads": model["heads"], "layers": model["layers"],
           "vocab_size": model["vocab_size"]}
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, config["vocab_size"], (2, min(config["n_positions"], 24)), generator=generator)
    ref = gpt_reference.forward(mtnlg_parameters(checkpoint), tokens, cfg, padded_logits=False)
    ok = compare("Hugging Face layout vs mtnlg's (gpt_reference.py)", hf_forward(weights, config, tokens), ref)
    if "--transformers" in sys.argv:
        from transformers import GPT2LMHeadModel
        hf_model = GPT2LMHeadModel.from_pretrained(hf_dir, torch_dtype=torch.float64).eval()
        with torch.no_grad():
            logits = hf_model(tokens).logits
        ok = compare("transformers GPT2LMHeadModel vs mtnlg's", logits, ref) and ok
    if not ok:
        sys.exit(f"hf_gpt2_check.py: the export does not compute the checkpoint's logits (tolerance {TOLERANCE})")


if __name__ == "__main__":
    main()
