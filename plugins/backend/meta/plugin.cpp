// The meta backend plugin's entry point: one component, no keys.
#include "mtnlg/plugin.hpp"

#include "meta_backend.hpp"

MTNLG_PLUGIN("meta-backend", "0.1.0",
             mtnlg::component<mtnlg::meta::MetaBackend>(
                 "meta", "shapes and allocation accounting only, no memory or math: for check and planning"));
