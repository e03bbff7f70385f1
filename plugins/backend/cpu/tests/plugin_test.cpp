// The built plugin module, loaded the way the host does: its descriptor, its keys, and its factory (which
// must report a bad key value instead of throwing).
#include <dlfcn.h>

#include <string_view>

#include "mtnlg/plugin.hpp"

#include "backend_fixture.hpp"

namespace mtnlg::cpu::test {
namespace {

const mtnlg_plugin_descriptor* load_descriptor() {
  // Never closed: objects the plugin creates need its code for the rest of the process (DESIGN.md).
  void* handle = dlopen(MTNLG_CPU_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  if (handle == nullptr) return nullptr;
  // BOOST_DLL_ALIAS exports a variable holding the entry function's address.
  auto* alias = static_cast<mtnlg_plugin_entry_fn*>(dlsym(handle, kPluginEntryAlias));
  EXPECT_NE(alias, nullptr) << dlerror();
  return alias ? (*alias)() : nullptr;
}

TEST(CpuPlugin, DescriptorAndKeys) {
  const mtnlg_plugin_descriptor* d = load_descriptor();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->abi_version, kAbiVersion);
  EXPECT_EQ(d->abi_fingerprint, abi_fingerprint());
  EXPECT_EQ(std::string_view(d->name), "cpu-backend");
  ASSERT_EQ(d->component_count, 1u);
  const mtnlg_component_entry& c = d->components[0];
  EXPECT_EQ(std::string_view(c.kind), "backend");
  EXPECT_EQ(std::string_view(c.name), "cpu");
  ASSERT_EQ(c.key_count, 3u);
  EXPECT_EQ(std::string_view(c.keys[0].name), "threads");
  EXPECT_EQ(c.keys[0].type, MTNLG_KEY_INT);
  EXPECT_EQ(std::string_view(c.keys[0].default_toml), "0");
  EXPECT_EQ(std::string_view(c.keys[1].name), "deferred");
  EXPECT_EQ(c.keys[1].type, MTNLG_KEY_BOOL);
  EXPECT_EQ(std::string_view(c.keys[1].default_toml), "false");
  EXPECT_EQ(std::string_view(c.keys[2].name), "profile");
  EXPECT_EQ(c.keys[2].type, MTNLG_KEY_BOOL);
  EXPECT_EQ(std::string_view(c.keys[2].default_toml), "false");
}

TEST(CpuPlugin, FactoryCreatesABackendOrReportsWhy) {
  const mtnlg_plugin_descriptor* d = load_descriptor();
  ASSERT_NE(d, nullptr);
  const Table recipe;
  Table params;
  params.set("threads", Value(1));
  params.set("deferred", Value(false));
  const CreateArgs good{params, recipe};
  char error[256] = "";
  auto* component = static_cast<Component*>(d->components[0].factory(&good, error, sizeof error));
  ASSERT_NE(component, nullptr) << error;
  auto* backend = dynamic_cast<Backend*>(component);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->device(), (Device{DeviceKind::cpu, 0}));
  EXPECT_TRUE(backend->supports("gemm", DType::f32));
  delete component;

  params.set("threads", Value(-1));
  const CreateArgs bad{params, recipe};
  EXPECT_EQ(d->components[0].factory(&bad, error, sizeof error), nullptr);
  EXPECT_THAT(std::string(error), ::testing::HasSubstr("key 'threads'"));
}

}  // namespace
}  // namespace mtnlg::cpu::test
