#!/usr/bin/env bash
# hf_gpt2_bad_imports.sh MTNLG RECIPE HF_DIR WORK — `mtnlg convert --from hf-gpt2` on damaged copies of a good
# export (HF_DIR, from hf_gpt2_convert.sh): each is refused with exit 1 and a message naming what is wrong, and
# nothing is written.
set -euo pipefail
mtnlg=$1 recipe=$2 good=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
n=0
expect_refused() {  # DIR PATTERN
  n=$((n + 1))
  if "$mtnlg" convert --from hf-gpt2 "$1" "$work/out$n" --recipe "$recipe" >"$work/log" 2>&1; then
    fail "$1 was imported"
  fi
  grep -Eq -- "$2" "$work/log" || fail "$1: expected /$2/, got: $(cat "$work/log")"
  [ ! -e "$work/out$n" ] || fail "$1: wrote $work/out$n"
}
variant() {  # NAME PYTHON — a copy of the good export, changed by PYTHON (config: dict; tensors: name -> dict)
  mkdir -p "$work/$1"
  /usr/bin/python3 - "$good" "$work/$1" "$2" <<'PY'
import json, sys
good, out, change = sys.argv[1:4]
config = json.load(open(f"{good}/config.json"))
raw = open(f"{good}/model.safetensors", "rb").read()
n = int.from_bytes(raw[:8], "little")
header, data = json.loads(raw[8:8 + n]), raw[8 + n:]
tensors = {k: (v, data[v["data_offsets"][0]:v["data_offsets"][1]]) for k, v in header.items() if k != "__metadata__"}
exec(change)
header, body = {"__metadata__": {"format": "pt"}}, b""
for name, (entry, blob) in tensors.items():
    header[name] = {"dtype": entry["dtype"], "shape": entry["shape"], "data_offsets": [len(body), len(body) + len(blob)]}
    body += blob
text = json.dumps(header).encode()
open(f"{out}/model.safetensors", "wb").write(len(text).to_bytes(8, "little") + text + body)
if config is not None:
    json.dump(config, open(f"{out}/config.json", "w"))
else:
    open(f"{out}/config.json", "w").write("{ not json")
PY
}
variant llama 'config["model_type"] = "llama"'
expect_refused "$work/llama" 'config.json: model_type "llama", not "gpt2"'
variant relu 'config["activation_function"] = "relu"'
expect_refused "$work/relu" "activation_function 'relu'; mtnlg's gelu_mlp is the tanh approximation"
variant broken 'config = None'
expect_refused "$work/broken" "config.json: not JSON"
variant missing 'del tensors["h.1.ln_2.bias"]'
expect_refused "$work/missing" "model.safetensors: no tensor 'h.1.ln_2.bias' \(for mtnlg's '2.ln_2.bias'\)"
variant shape 'e, b = tensors["h.0.mlp.c_fc.weight"]; e["shape"] = [e["shape"][1], e["shape"][0]]'
expect_refused "$work/shape" "tensor 'h.0.mlp.c_fc.weight' has shape \[256, 64\], mtnlg's '1.mlp.fc.weight' needs \[64, 256\]"
variant half 'e, b = tensors["ln_f.bias"]; e["dtype"] = "F16"; tensors["ln_f.bias"] = (e, b[:len(b) // 2])'
expect_refused "$work/half" "tensor 'ln_f.bias' is F16; import reads F32 and F64"
variant extra 'tensors["h.0.attn.rotary.weight"] = tensors["ln_f.bias"]'
expect_refused "$work/extra" "tensor 'h.0.attn.rotary.weight' has no place in mtnlg's GPT-2 model"
# The tensors a Hugging Face export may carry that are not parameters are accepted.
variant buffers 'tensors["lm_head.weight"] = tensors["wte.weight"]; tensors["h.0.attn.bias"] = tensors["ln_f.bias"]'
"$mtnlg" convert --from hf-gpt2 "$work/buffers" "$work/buffers-out" --recipe "$recipe" >/dev/null ||
  fail "an export with lm_head.weight and attn.bias buffers was refused"
echo "$n damaged exports refused with their messages; buffers accepted"
