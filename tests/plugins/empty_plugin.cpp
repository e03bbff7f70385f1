// A plugin with no components. Built twice with compile definitions that make it incompatible: once claiming
// another ABI version, once with the pre-C++11 libstdc++ string ABI (which changes its real ABI fingerprint).
#include "mtnlg/plugin.hpp"

MTNLG_PLUGIN("test-incompatible", "0.0.1")
