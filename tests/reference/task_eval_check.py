"""Recomputes `mtnlg eval CHECKPOINT --task ... --json OUT` in PyTorch and compares it with OUT.

    /usr/bin/python3 tests/reference/task_eval_check.py CHECKPOINT OUT.json

Independently of mtnlg, for every request in OUT: the token split is the harness's (the context's tokens decode
to the context without its trailing whitespace, context and continuation tokens to the whole request; GPT-2's
byte-level decoding from tools/tokenizer/gpt2/encoder.json), the tokens are truncated from the left to
model.seq_len + 1 and run through gpt_reference.py's model with the checkpoint's parameters in float64, and
the continuation's loglikelihood (log_softmax over the real vocabulary) and greediness must match OUT's to
1e-9 relative. Then the task's metrics are recomputed from those loglikelihoods as the harness's
process_results and aggregation do (acc: argmax; acc_norm: argmax of ll / len(choice) where OUT has
pred_norm; completion tasks: acc = greedy, ppl = exp(-mean ll)) and must equal OUT's. Exit 1 otherwise.
"""

import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_reference  # noqa: E402
from gpt_reference import torch  # noqa: E402
from hf_gpt2_check import mtnlg_parameters, tomllib  # noqa: E402

ENCODER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "tokenizer", "gpt2",
                       "encoder.json")


def byte_decoder():  # GPT-2's bytes_to_unicode, inverted
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkpoint, out_path = sys.argv[1], sys.argv[2]
    with open(out_path) as f:
        out = json.load(f)
    with open(os.path.join(checkpoint, "recipe.toml"), "rb") as f:
        model = tomllib.load(f)["model"]
    cfg = {k: model[k] for k in ("hidden", "heads", "layers", "vocab_size")}
    seq_len, vocab = model["seq_len"], model["vocab_size"]
    params = mtnlg_parameters(checkpoint)
    with open(ENCODER) as f:
        id_to_token = {i: t for t, i in json.load(f).items()}
    to_byte = byte_decoder()

    def decode(ids):
        return bytes(to_byte[c] for i in ids for c in id_to_token[i]).decode("utf-8")

    problems, worst, acc, acc_norm, ll_sum = [], 0.0, 0, 0, 0.0
    completion = "ppl" in out["metrics"]
    for item in out["items"]:
        lls = []
        for r in item["requests"]:
            ctx, cont = r["context_tokens"], r["continuation_tokens"]
            stripped = r["context"].rstrip()
            if stripped and (decode(ctx) != stripped or decode(ctx + cont) != r["context"] + r["continuation"]):
                problems.append(f"line {item['line']}: the tokens do not split as the harness's _encode_pair")
            tokens = (ctx + cont)[-(seq_len + 1):]
            inputs = torch.tensor([tokens[:-1]], dtype=torch.long)
            with torch.no_grad():
                logits = gpt_reference.forward(params, inputs, cfg)[0, :, :vocab]
            logprobs = torch.log_softmax(logits, dim=-1)
            rows = range(len(tokens) - 1 - len(cont), len(tokens) - 1)
            ll = sum(float(logprobs[row, tok]) for row, tok in zip(rows, cont))
            greedy = all(int(logits[row].argmax()) == tok for row, tok in zip(rows, cont))
            difference = abs(ll - r["loglikelihood"]) / max(abs(ll), 1e-30)
            worst = max(worst, difference)
            if difference > 1e-9 or greedy != r["is_greedy"]:
                problems.append(f"line {item['line']}: loglikelihood {r['loglikelihood']!r} (greedy "
                                f"{r['is_greedy']}), PyTorch {ll!r} (greedy {greedy})")
            lls.append(ll)
        if completion:
            acc += int(item["requests"][0]["is_greedy"])
            ll_sum += lls[0]
            continue
        pred = max(range(len(lls)), key=lambda i: (lls[i], -i))  # np.argmax: the first maximum
        acc += int(pred == item["gold"])
        if pred != item["pred"]:
            problems.append(f"line {item['line']}: pred {item['pred']}, PyTorch {pred}")
        if "pred_norm" in item:
            normed = [ll / len(r["continuation"][1:]) for ll, r in zip(lls, item["requests"])]
            pred_norm = max(range(len(normed)), key=lambda i: (normed[i], -i))
            acc_norm += int(pred_norm == item["gold"])
            if pred_norm != item["pred_norm"]:
                problems.append(f"line {item['line']}: pred_norm {item['pred_norm']}, PyTorch {pred_norm}")
    n = len(out["items"])
    expected = {"acc": acc / n}
    if "acc_norm" in out["metrics"]:
        expected["acc_norm"] = acc_norm / n
    if completion:
        expected["ppl"] = math.exp(-ll_sum / n)
    for k, v in expected.items():
        if abs(out["metrics"].get(k, float("nan")) - v) > 1e-9 * max(1.0, abs(v)):
            problems.append(f"metric {k}: mtnlg {out['metrics'].get(k)}, PyTorch {v}")
    if set(out["metrics"]) != set(expected):
        problems.append(f"metrics {sorted(out['metrics'])}, expected {sorted(expected)}")
    print(f"{out['task']} {out['shots']}-shot: {n} documents, {sum(len(i['requests']) for i in out['items'])} "
          f"requests; loglikelihoods within {worst:.1e} of PyTorch; metrics {expected}")
    if problems:
        print("\n".join(problems[:20]))
        sys.exit("task_eval_check.py: mtnlg eval --task differs from the reference")


if __name__ == "__main__":
    main()
