// The built meta plugin module, loaded as the host loads it.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>

#include "mtnlg/backend.hpp"
#include "mtnlg/plugin.hpp"

namespace mtnlg::meta {
namespace {

TEST(MetaPlugin, DescriptorAndFactory) {
  // Never closed: the created component needs the plugin's code (DESIGN.md).
  void* handle = dlopen(MTNLG_META_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto* alias = static_cast<mtnlg_plugin_entry_fn*>(dlsym(handle, kPluginEntryAlias));
  ASSERT_NE(alias, nullptr) << dlerror();
  const mtnlg_plugin_descriptor* d = (*alias)();
  EXPECT_EQ(d->abi_version, kAbiVersion);
  EXPECT_EQ(d->abi_fingerprint, abi_fingerprint());
  EXPECT_EQ(std::string_view(d->name), "meta-backend");
  ASSERT_EQ(d->component_count, 1u);
  EXPECT_EQ(std::string_view(d->components[0].kind), "backend");
  EXPECT_EQ(std::string_view(d->components[0].name), "meta");
  EXPECT_EQ(d->components[0].key_count, 0u);

  const Table params, recipe;
  const CreateArgs args{params, recipe};
  char error[256] = "";
  auto* component = static_cast<Component*>(d->components[0].factory(&args, error, sizeof error));
  ASSERT_NE(component, nullptr) << error;
  auto* backend = dynamic_cast<Backend*>(component);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->device(), (Device{DeviceKind::meta, 0}));
  EXPECT_EQ(backend->empty({8}, DType::f32).data(), nullptr);
  EXPECT_EQ(backend->alloc_stats().total_bytes, 32u);
  delete component;
}

}  // namespace
}  // namespace mtnlg::meta
