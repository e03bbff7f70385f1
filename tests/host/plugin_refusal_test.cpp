// Every way the host refuses a plugin library, and what it says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mtnlg/abi.hpp"
#include "mtnlg/backend.hpp"
#include "mtnlg/layer.hpp"
#include "plugin_host/registry.hpp"

using namespace mtnlg;
using host::Registry;
using ::testing::HasSubstr;

namespace {

std::string only_refusal(const Registry& r) {
  EXPECT_EQ(r.refusals().size(), 1u);
  return r.refusals().empty() ? "" : r.refusals().front().reason;
}

std::filesystem::path scratch_dir() {
  auto dir = std::filesystem::temp_directory_path() /
             ("mtnlg-refusal-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST(PluginLoading, AcceptsACompatiblePluginAndRecordsItsIdentity) {
  Registry r;
  r.load(MTNLG_TEST_COMPONENTS, "test");
  ASSERT_EQ(r.plugins().size(), 1u) << (r.refusals().empty() ? "" : r.refusals()[0].reason);
  const auto& p = *r.plugins()[0];
  EXPECT_EQ(p.name, "test-components");
  EXPECT_EQ(p.version, "1.2.3");
  EXPECT_EQ(p.abi_version, kAbiVersion);
  EXPECT_EQ(p.abi_fingerprint, abi_fingerprint());
  EXPECT_NE(r.find("reader", "test_regression"), nullptr);
}

TEST(PluginLoading, RefusesAnotherAbiVersionNamingBothVersions) {
  Registry r;
  r.load(MTNLG_TEST_ABI_VERSION, "test");
  EXPECT_TRUE(r.plugins().empty());
  const std::string why = only_refusal(r);
  EXPECT_THAT(why, HasSubstr("ABI version mismatch"));
  EXPECT_THAT(why, HasSubstr("ABI 999"));
  EXPECT_THAT(why, HasSubstr("host speaks ABI " + std::to_string(kAbiVersion)));
}

TEST(PluginLoading, RefusesAPluginBuiltWithTheOldStringAbiByFingerprint) {
  Registry r;
  r.load(MTNLG_TEST_OLD_STRING_ABI, "test");
  EXPECT_TRUE(r.plugins().empty());
  const std::string why = only_refusal(r);
  EXPECT_THAT(why, HasSubstr("ABI fingerprint mismatch"));
  EXPECT_THAT(why, HasSubstr(host::fingerprint_str(abi_fingerprint())));
}

TEST(PluginLoading, RefusesALibraryWithoutTheEntryPoint) {
  Registry r;
  r.load(MTNLG_TEST_NO_ENTRY, "test");
  EXPECT_THAT(only_refusal(r), HasSubstr("does not export the 'mtnlg_plugin_entry' entry point"));
}

TEST(PluginLoading, RefusesAFileThatIsNotElf) {
  const auto file = scratch_dir() / "libnot-elf.so";
  std::ofstream(file) << "this is text, not a shared library\n";
  Registry r;
  r.load(file, "test");
  EXPECT_THAT(only_refusal(r), HasSubstr("not a shared library (no ELF header)"));
  EXPECT_EQ(r.refusals()[0].path, file);
}

TEST(PluginLoading, RefusesAMissingFileAndAnEmptyFileAndADirectoryNamedLikeALibrary) {
  const auto dir = scratch_dir();
  std::ofstream(dir / "libempty.so").close();
  std::filesystem::create_directories(dir / "nested" / "libdir.so");
  Registry r;
  r.load(dir / "libmissing.so", "test");
  r.load(dir / "libempty.so", "test");
  ASSERT_EQ(r.refusals().size(), 2u);
  EXPECT_THAT(r.refusals()[0].reason, HasSubstr("no such file"));
  EXPECT_THAT(r.refusals()[1].reason, HasSubstr("cannot read the file"));
  // A directory is scanned for lib*.so; one that is itself a directory is not a plugin.
  const auto libdir = dir / "nested" / "libdir.so";
  EXPECT_TRUE(
      std::get<host::Refusal>(host::load_plugin_library(libdir, "test")).reason.find("not a regular file") !=
      std::string::npos);
}

TEST(PluginLoading, RefusesAComponentOfAnUnknownKind) {
  Registry r;
  r.load(MTNLG_TEST_UNKNOWN_KIND, "test");
  EXPECT_THAT(only_refusal(r), HasSubstr("component 'merlin' has unknown kind 'wizard'"));
}

TEST(PluginLoading, RefusesAWholeLibraryThatDuplicatesAComponent) {
  Registry r;
  r.load(MTNLG_PLUGIN_DIR, "built-in");
  ASSERT_NE(r.find("layer", "gelu"), nullptr);
  r.load(MTNLG_TEST_DUPLICATE, "test");
  const std::string why = r.refusals().back().reason;
  EXPECT_THAT(why,
              HasSubstr("duplicate component: layer 'gelu' is already provided by plugin 'layer-dense'"));
  EXPECT_EQ(r.find("layer", "dup_only_here"), nullptr) << "a refused library must not be half registered";
}

TEST(PluginLoading, LoadRequiredTurnsARefusalIntoAnErrorNamingWhoAsked) {
  Registry r;
  try {
    r.load_required("/nonexistent/libnothing.so", "recipes/x.toml:3:9");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("recipes/x.toml:3:9: plugin /nonexistent/libnothing.so was refused: no such file"));
  }
}

TEST(PluginLoading, TheSameFileTwiceIsLoadedOnce) {
  Registry r;
  r.load(MTNLG_TEST_COMPONENTS, "one");
  r.load(MTNLG_TEST_COMPONENTS, "two");
  EXPECT_EQ(r.plugins().size(), 1u);
  EXPECT_TRUE(r.refusals().empty());
}

TEST(Components, AFailingFactoryIsAnErrorNamingComponentPluginAndReason) {
  Registry r;
  r.load(MTNLG_TEST_COMPONENTS, "test");
  const Table params, recipe;
  try {
    r.create(*r.find("layer", "test_failing"), CreateArgs{params, recipe});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("layer 'test_failing' (plugin 'test-components'"));
    EXPECT_THAT(e.what(), HasSubstr("could not be created: deliberately failing factory"));
  }
}

TEST(Components, AnUnknownNameListsTheKnownOnesOfThatKind) {
  Registry r;
  r.load(MTNLG_PLUGIN_DIR, "built-in");
  SourcePos where{"recipes/tiny.toml", 12, 9, ""};
  try {
    r.require("layer", "lineer", where);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("recipes/tiny.toml:12:9: unknown layer 'lineer'; known layers: "));
    EXPECT_THAT(e.what(), HasSubstr(", gelu, gelu_mlp, layernorm, linear, lm_head, "));
  }
}

TEST(Components, WhatAPluginThrowsReachesTheHostAsAnSdkErrorNamingTheComponent) {
  Registry r;
  r.load(MTNLG_PLUGIN_DIR, "built-in");
  r.load(MTNLG_TEST_COMPONENTS, "test");
  const Table params, recipe;
  auto layer = r.create_as<Layer>(*r.find("layer", "test_throwing"), CreateArgs{params, recipe});
  auto backend = r.create_as<Backend>(*r.find("backend", "meta"), CreateArgs{params, recipe});
  // The throwing layer never touches its parameters, so it gets none.
  struct NoParams final : ParamSet {
    Tensor value(std::string_view) const override { return {}; }
    Tensor grad(std::string_view) const override { return {}; }
  } no_params;
  SavedState saved;
  try {
    layer->forward(LayerStep{*backend, no_params}, Tensor(), saved);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "layer 'test_throwing': deliberate failure in forward");
  }
}
