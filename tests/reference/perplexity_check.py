"""Recomputes `mtnlg eval CHECKPOINT --perplexity PREFIX` in PyTorch and compares it with what mtnlg printed.

    /usr/bin/python3 tests/reference/perplexity_check.py CHECKPOINT PREFIX MEAN_LOSS

PREFIX.bin holds the dataset's uint16 tokens, documents in order; they are cut as mtnlg eval documents it
(windows of model.seq_len inputs, each predicting the next token, (N - 1) // seq_len windows) and run through
gpt_reference.py's model with the checkpoint's parameters, in float64. MEAN_LOSS (mtnlg's) must equal the mean
cross-entropy to 1e-9 relative. Exit 1 otherwise.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_reference  # noqa: E402
from gpt_reference import np, torch  # noqa: E402
from hf_gpt2_check import mtnlg_parameters, tomllib  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    checkpoint, prefix, theirs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(os.path.join(checkpoint, "recipe.toml"), "rb") as f:
        model = tomllib.load(f)["model"]
    cfg = {k: model[k] for k in ("hidden", "heads", "layers", "vocab_size")}
    t = model["seq_len"]
    tokens = torch.from_numpy(np.fromfile(prefix + ".bin", dtype=np.uint16).astype(np.int64))
    windows = (len(tokens) - 1) // t
    inputs = torch.stack([tokens[w * t: w * t + t] for w in range(windows)])
    targets = torch.stack([tokens[w * t + 1: w * t + t + 1] for w in range(windows)])
    with torch.no_grad():
        logits = gpt_reference.forward(mtnlg_parameters(checkpoint), inputs, cfg)
        ours = float(gpt_reference.loss_of(logits, targets, cfg))
    difference = abs(ours - theirs) / abs(ours)
    print(f"{windows} windows of {t}: PyTorch mean loss {ours:.12f}, mtnlg {theirs:.12f}, relative difference "
          f"{difference:.2e}")
    if difference > 1e-9:
        sys.exit("perplexity_check.py: mtnlg eval's mean loss is not the model's")


if __name__ == "__main__":
    main()
