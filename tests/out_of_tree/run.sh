#!/usr/bin/env bash
# run.sh MTNLG_BUILD_DIR SOURCE_DIR WORK_DIR
# What a third party does: install mtnlg to a prefix, build their plugin against it with find_package(mtnlg),
# then use the plugin from the installed host, both through MTNLG_PLUGIN_PATH and through a recipe's
# [plugins] load, without rebuilding anything of mtnlg.
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/out_of_tree/plugin" -B "$work/plugin-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/plugin-build" >/dev/null
mtnlg=$work/prefix/bin/mtnlg
lib=$work/plugin-build/libscaled-identity.so

fail() { echo "FAIL: $*"; exit 1; }
out=$(MTNLG_PLUGIN_PATH="$work/plugin-build" "$mtnlg" plugins) || fail "mtnlg plugins exited $?"
grep -q "third-party-example 3.1.4" <<<"$out" || fail "plugin not listed: $out"
grep -Eq "layer +scaled_identity" <<<"$out" || fail "component not listed: $out"
grep -Eq "layer +linear" <<<"$out" || fail "the installed host lost its own plugins: $out"
out=$(MTNLG_PLUGIN_PATH="$lib" "$mtnlg" plugins --describe scaled_identity) || fail "describe exited $?"
grep -Eq "factor +float +2.0" <<<"$out" || fail "keys not described: $out"

cp "$src/recipes/tiny-counting.toml" "$src/recipes/tiny-model.toml" "$work/"
cat > "$work/with-plugin.toml" <<TOML
include = "tiny-counting.toml"

[plugins]
load = ["plugin-build/libscaled-identity.so"]

[[model.stack]]
layer = "embedding"

[[model.stack]]
layer = "scaled_identity"
factor = 0.5

[[model.stack]]
layer = "lm_head"
TOML
out=$("$mtnlg" check "$work/with-plugin.toml") || fail "check exited $?: $out"
grep -q "layer 1 'scaled_identity'" <<<"$out" || fail "recipe did not use the plugin: $out"
echo "$out"
echo "out-of-tree plugin: built against the installed SDK, loaded and used by the installed host"
