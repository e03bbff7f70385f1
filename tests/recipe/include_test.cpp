// Includes: how bases merge, where their paths are resolved, and what goes wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/load_recipe.hpp"
#include "recipe/recipe_error.hpp"
#include "temp_dir.hpp"

namespace mtnlg::recipe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;

std::string load_error(const std::filesystem::path& file) {
  try {
    load_recipe(file);
  } catch (const RecipeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << file << " did not throw";
  return "";
}

std::vector<std::string> keys_of(const Table& table) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : table) keys.push_back(key);
  return keys;
}

TEST(Include, TablesMergeKeyByKeyAndArraysAreReplacedWhole) {
  TempDir dir;
  const std::string base = dir.write("base.toml",
                                     "seed = 1\n"
                                     "[model]\n"
                                     "hidden = 32\n"
                                     "layers = 2\n"
                                     "dims = [1, 2, 3]\n"
                                     "[model.attention]\n"
                                     "heads = 4\n"
                                     "dropout = 0.1\n"
                                     "[[model.stack]]\n"
                                     "width = 1\n"
                                     "[[model.stack]]\n"
                                     "width = 2\n")
                               .string();
  const std::string top = dir.write("top.toml",
                                    "include = \"base.toml\"\n"
                                    "[model]\n"
                                    "hidden = 64\n"
                                    "dims = [9]\n"
                                    "[model.attention]\n"
                                    "heads = 8\n"
                                    "[[model.stack]]\n"
                                    "width = 7\n")
                              .string();
  const Table recipe = load_recipe(top);

  EXPECT_EQ(recipe.find("include"), nullptr);
  EXPECT_EQ(recipe.get_int("seed"), 1);
  const Table& model = recipe.get_table("model");
  EXPECT_THAT(keys_of(model), ElementsAre("hidden", "layers", "dims", "attention", "stack"));
  EXPECT_EQ(model.get_int("hidden"), 64);
  EXPECT_EQ(model.find("hidden")->pos.str(), top + ":3:10");
  EXPECT_EQ(model.get_int("layers"), 2);
  EXPECT_EQ(model.find("layers")->pos.str(), base + ":4:10");
  EXPECT_EQ(model.find("dims")->to_toml(), "[9]");
  EXPECT_EQ(recipe.find_path("model.attention.heads")->as_int(), 8);
  EXPECT_DOUBLE_EQ(recipe.find_path("model.attention.dropout")->as_float(), 0.1);
  ASSERT_EQ(model.get_array("stack").size(), 1u);
  EXPECT_EQ(model.get_array("stack")[0].as_table().get_int("width"), 7);
  // A merged table is where the file on top wrote it.
  EXPECT_EQ(model.pos.str(), top + ":2:1");
}

TEST(Include, BasesApplyInTheOrderListedThenTheIncludingFile) {
  TempDir dir;
  dir.write("a.toml", "x = \"a\"\ny = \"a\"\nz = \"a\"\n");
  dir.write("b.toml", "y = \"b\"\nz = \"b\"\n");
  const Table recipe =
      load_recipe(dir.write("top.toml", "include = [\"a.toml\", \"b.toml\"]\nz = \"top\"\n"));
  EXPECT_EQ(recipe.get_string("x"), "a");
  EXPECT_EQ(recipe.get_string("y"), "b");
  EXPECT_EQ(recipe.get_string("z"), "top");
  EXPECT_THAT(keys_of(recipe), ElementsAre("x", "y", "z"));
}

TEST(Include, PathsAreRelativeToTheIncludingFile) {
  TempDir dir;
  dir.write("base.toml", "from_base = 1\n");
  dir.write("sub/parts/extra.toml", "include = \"more.toml\"\nfrom_extra = 2\n");
  dir.write("sub/parts/more.toml", "from_more = 3\n");
  const Table recipe = load_recipe(
      dir.write("sub/run.toml", "include = [\"../base.toml\", \"parts/extra.toml\"]\nfrom_run = 4\n"));
  EXPECT_EQ(recipe.get_int("from_base"), 1);
  EXPECT_EQ(recipe.get_int("from_extra"), 2);
  EXPECT_EQ(recipe.get_int("from_more"), 3);
  EXPECT_EQ(recipe.get_int("from_run"), 4);
  // Positions name the included files by their joined, normalised paths.
  EXPECT_EQ(recipe.find("from_base")->pos.file, (dir.path() / "base.toml").string());
  EXPECT_EQ(recipe.find("from_more")->pos.file, (dir.path() / "sub/parts/more.toml").string());
}

TEST(Include, TheSameBaseTwiceIsNotACycle) {
  TempDir dir;
  dir.write("common.toml", "c = 1\n");
  dir.write("left.toml", "include = \"common.toml\"\nl = 1\n");
  dir.write("right.toml", "include = \"common.toml\"\nr = 1\n");
  const Table recipe = load_recipe(dir.write("top.toml", "include = [\"left.toml\", \"right.toml\"]\n"));
  EXPECT_THAT(keys_of(recipe), ElementsAre("c", "l", "r"));
}

TEST(Include, CycleNamesTheChain) {
  TempDir dir;
  const std::string a = dir.write("a.toml", "include = \"b.toml\"\n").string();
  const std::string b = dir.write("b.toml", "x = 1\ninclude = \"a.toml\"\n").string();
  EXPECT_THAT(load_error(a), HasSubstr(b + ":2:11: include cycle: " + a + " -> " + b + " -> " + a));
}

TEST(Include, SelfIncludeIsACycle) {
  TempDir dir;
  const std::string a = dir.write("a.toml", "include = \"a.toml\"\n").string();
  EXPECT_THAT(load_error(a), HasSubstr(a + ":1:11: include cycle: " + a + " -> " + a));
}

TEST(Include, MissingFileNamesTheIncludersPosition) {
  TempDir dir;
  dir.write("base.toml", "x = 1\n");
  const std::string top = dir.write("top.toml", "include = [\"base.toml\", \"nope.toml\"]\n").string();
  EXPECT_THAT(load_error(top),
              HasSubstr(top + ":1:25: cannot read included file '" + (dir.path() / "nope.toml").string() +
                        "': No such file or directory"));
}

TEST(Include, SyntaxErrorInABaseNamesTheBase) {
  TempDir dir;
  const std::string base = dir.write("base.toml", "[model\n").string();
  EXPECT_THAT(load_error(dir.write("top.toml", "include = \"base.toml\"\n")), HasSubstr(base + ":1:"));
}

TEST(Include, MustBeAFileNameOrAnArrayOfThem) {
  TempDir dir;
  const std::string number = dir.write("number.toml", "include = 5\n").string();
  EXPECT_THAT(
      load_error(number),
      HasSubstr(number +
                ":1:11: 'include' takes a file name or an array of file names, found an integer (5)"));
  const std::string element = dir.write("element.toml", "include = [\"a.toml\", true]\n").string();
  EXPECT_THAT(load_error(element),
              HasSubstr(element + ":1:22: 'include' takes a file name or an array of file "
                                  "names, found a boolean (true)"));
}

TEST(Include, OnlyTheTopLevelKeyIncludes) {
  TempDir dir;
  const Table recipe = load_recipe(dir.write("r.toml", "[paths]\ninclude = \"not-a-file.toml\"\n"));
  EXPECT_EQ(recipe.find_path("paths.include")->as_string(), "not-a-file.toml");
}

}  // namespace
}  // namespace mtnlg::recipe
