#include "recipe/load_recipe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/recipe_error.hpp"
#include "temp_dir.hpp"

namespace mtnlg::recipe {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// The message of the RecipeError that loading `file` throws.
std::string load_error(const std::filesystem::path& file) {
  try {
    load_recipe(file);
  } catch (const RecipeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << file << " did not throw";
  return "";
}

TEST(LoadRecipe, ValuesAndTablesKeepTheirPositions) {
  TempDir dir;
  const std::filesystem::path absolute = dir.write("tiny.toml",
                                                   "seed = 1234\n"
                                                   "[model]\n"
                                                   "  hidden = 64\n"
                                                   "  dims = [1, 22]\n"
                                                   "[[model.stack]]\n"
                                                   "width = 8\n");
  // Positions keep the path as given, so load through a relative one.
  const std::filesystem::path file = std::filesystem::relative(absolute);
  ASSERT_FALSE(file.is_absolute());
  const std::string f = file.string();

  const Table recipe = load_recipe(file);
  EXPECT_EQ(recipe.pos.str(), f);
  EXPECT_EQ(recipe.find("seed")->pos.str(), f + ":1:8");
  const Value& model = *recipe.find("model");
  EXPECT_EQ(model.pos.str(), f + ":2:1");
  EXPECT_EQ(model.as_table().pos.str(), f + ":2:1");
  EXPECT_EQ(recipe.find_path("model.hidden")->pos.str(), f + ":3:12");
  const Value& dims = *recipe.find_path("model.dims");
  EXPECT_EQ(dims.pos.str(), f + ":4:10");
  EXPECT_EQ(dims.as_array()[1].pos.str(), f + ":4:14");
  const Value& stack = *recipe.find_path("model.stack");
  EXPECT_EQ(stack.pos.str(), f + ":5:1");
  EXPECT_EQ(stack.as_array()[0].as_table().pos.str(), f + ":5:1");
  EXPECT_EQ(stack.as_array()[0].as_table().find("width")->pos.str(), f + ":6:9");
}

TEST(LoadRecipe, KeysKeepTheOrderTheyWereWrittenIn) {
  TempDir dir;
  const Table recipe = load_recipe(dir.write("r.toml",
                                             "zeta = 1\n"
                                             "alpha = 2\n"
                                             "[model]\n"
                                             "b = 1\n"
                                             "a = 2\n"));
  std::vector<std::string> keys;
  for (const auto& [key, value] : recipe) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("zeta", "alpha", "model"));
  keys.clear();
  for (const auto& [key, value] : recipe.get_table("model")) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("b", "a"));
}

TEST(LoadRecipe, ConvertsEveryTomlType) {
  TempDir dir;
  const Table recipe = load_recipe(dir.write("r.toml",
                                             "flag = true\n"
                                             "count = -3\n"
                                             "rate = 2.5e-4\n"
                                             "name = \"gpt\"\n"
                                             "mixed = [1, \"a\", { b = 2 }]\n"));
  EXPECT_TRUE(recipe.get_bool("flag"));
  EXPECT_EQ(recipe.get_int("count"), -3);
  EXPECT_DOUBLE_EQ(recipe.get_float("rate"), 2.5e-4);
  EXPECT_EQ(recipe.get_string("name"), "gpt");
  EXPECT_EQ(recipe.find("mixed")->to_toml(), "[1, \"a\", { b = 2 }]");
}

TEST(LoadRecipe, SyntaxErrorNamesFileLineAndColumn) {
  TempDir dir;
  const std::string file = dir.write("bad.toml", "a = 1\nb = = 2\n").string();
  EXPECT_THAT(load_error(file), HasSubstr(file + ":2:5: Error while parsing value"));
}

TEST(LoadRecipe, DatesAreRejectedWithTheirPosition) {
  TempDir dir;
  const std::string file = dir.write("date.toml", "[run]\nwhen = 1979-05-27\n").string();
  EXPECT_THAT(load_error(file), HasSubstr(file + ":2:8: dates and times are not supported"));
}

TEST(LoadRecipe, MissingFileIsNamed) {
  TempDir dir;
  const std::string file = (dir.path() / "nope.toml").string();
  EXPECT_THAT(load_error(file), HasSubstr(file + ": cannot read the recipe: No such file or directory"));
}

TEST(LoadRecipe, ErrorCarriesItsPosition) {
  TempDir dir;
  const std::string file = dir.write("bad.toml", "a = 1\nb = = 2\n").string();
  try {
    load_recipe(file);
    FAIL() << "no error";
  } catch (const RecipeError& e) {
    EXPECT_EQ(e.pos().file, file);
    EXPECT_EQ(e.pos().line, 2);
    EXPECT_EQ(e.pos().column, 5);
  }
}

}  // namespace
}  // namespace mtnlg::recipe
