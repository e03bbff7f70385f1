#!/usr/bin/env bash
# gpu_libraries_not_loaded.sh MTNLG — on a machine without the NVIDIA driver, `mtnlg plugins` (which loads
# every plugin) never maps the CUDA runtime, cuBLAS or NCCL: the cuda backend and comm/nccl plugins probe for
# libcuda.so.1 and load their implementation modules only where it is (mtnlg/deferred_plugin.hpp). Exits 77
# (skipped) where the driver is installed. Uses the dynamic loader's own log (LD_DEBUG=files), and checks that
# both components say why they are unavailable (the driver library cannot be loaded).
set -u
mtnlg=$1
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  echo "SKIP: this machine has the NVIDIA driver (libcuda.so.1); the implementation modules load here"
  exit 77
fi
log=$(LD_DEBUG=files "$mtnlg" plugins 2>&1 >/dev/null)
if ! grep -q 'file=libcuda\.so\.1 ' <<<"$log"; then
  echo "FAIL: the loader's log shows no attempt to load libcuda.so.1 (are the CUDA plugins built?)"
  exit 1
fi
if grep -E 'file=(libcudart|libcublas|libcublasLt|libnccl)\.so|file=.*mtnlg-(backend-cuda|comm-nccl)-impl\.so' <<<"$log"; then
  echo "FAIL: GPU libraries were loaded on a machine without the NVIDIA driver (above)"
  exit 1
fi
said=$("$mtnlg" plugins 2>&1)
for component in "backend +cuda" "communicator +nccl"; do
  # The component's line, then the reason on the next.
  if ! grep -E -A1 "^ +$component " <<<"$said" | grep -q "unavailable here: no usable CUDA device: this machine has no NVIDIA driver or GPU.*: the driver library libcuda\.so\.1 cannot be loaded (libcuda\.so\.1: cannot open shared object file"; then
    printf 'FAIL: mtnlg plugins does not say why %s is unavailable (no driver):\n%s\n' "$component" "$said"
    exit 1
  fi
done
echo "OK: libcuda.so.1 probed and absent; no CUDA runtime, cuBLAS, NCCL or implementation module loaded; both say why"
