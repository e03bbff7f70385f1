#!/usr/bin/env bash
# damaged_checkpoint.sh MTNLG RECIPE WORK — every way a checkpoint can be damaged gives `mtnlg generate` a
# clear error naming the file, never a crash or garbage output.
set -euo pipefail
mtnlg=$1 recipe=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
"$mtnlg" train "$recipe" --steps 1 --run-dir "$work/run" >/dev/null 2>&1
fail() { echo "FAIL: $*"; exit 1; }
expect_error() {  # DIR PATTERN
  local out
  if out=$("$mtnlg" generate "$1" --max-tokens 2 2>&1); then fail "generate accepted a damaged checkpoint: $out"; fi
  grep -Eq -- "$2" <<<"$out" || fail "expected /$2/, got: $out"
  echo "$out"
}
good=$work/run/checkpoint
cp -r "$good" "$work/short" && truncate -s 100 "$work/short/parameters.bin"
expect_error "$work/short" "short/parameters.bin: expected [0-9]+ bytes of parameters"
cp -r "$good" "$work/long" && printf 'x' >> "$work/long/parameters.bin"
expect_error "$work/long" "long/parameters.bin: expected [0-9]+ bytes of parameters"
cp -r "$good" "$work/format" && sed -i 's/^format = .*/format = "something-else"/' "$work/format/manifest.toml"
expect_error "$work/format" "format/manifest.toml: unknown checkpoint format"
cp -r "$good" "$work/nomanifest" && rm "$work/nomanifest/manifest.toml"
expect_error "$work/nomanifest" "nomanifest is not an mtnlg checkpoint: no manifest.toml"
cp -r "$good" "$work/shape" && sed -i '0,/^shape = \[51200, 64\]/s//shape = [51200, 32]/' "$work/shape/manifest.toml"
expect_error "$work/shape" "shape/manifest.toml: parameter 0 is .*51200, 32.*the model expects .*51200, 64"
