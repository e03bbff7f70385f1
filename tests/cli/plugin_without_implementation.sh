#!/usr/bin/env bash
# plugin_without_implementation.sh BUILD_BIN_MTNLG WORK — a copy of mtnlg and its plugin directory with the
# cuda backend's implementation module deleted: with the driver probe skipped (MTNLG_SKIP_DRIVER_PROBE=1, the
# test hook), `mtnlg plugins` still runs and says the backend is unavailable, naming the missing file.
set -eu
mtnlg=$1 work=$2
build=$(cd "$(dirname "$mtnlg")/.." && pwd)
rm -rf "$work" && mkdir -p "$work/bin"
cp -a "$build/bin/mtnlg" "$work/bin/"
cp -a "$build/lib" "$work/lib"
rm "$work/lib/mtnlg/plugins/mtnlg-backend-cuda-impl.so"
exec "$(dirname "$0")/expect.sh" 0 \
  "backend +cuda .*unavailable here: cannot load its implementation module $work/lib/mtnlg/plugins/mtnlg-backend-cuda-impl.so: .*reinstall mtnlg" \
  -- env MTNLG_SKIP_DRIVER_PROBE=1 "$work/bin/mtnlg" plugins
