#!/usr/bin/env bash
# Runs expect.sh only on a machine without a usable NVIDIA GPU, for the messages a user without one meets;
# elsewhere exits 77, which CTest reports as skipped.
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "SKIP: this machine has a GPU; the test checks what happens without one"
  exit 77
fi
exec "$(dirname "$0")/expect.sh" "$@"
