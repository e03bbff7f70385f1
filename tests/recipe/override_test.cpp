#include "recipe/override.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/parse_toml.hpp"
#include "recipe/recipe_error.hpp"
#include "recipe/validate.hpp"

namespace mtnlg::recipe {
namespace {

using ::testing::HasSubstr;

Table base_recipe() {
  return parse_toml(
      "[model]\n"
      "hidden = 32\n"
      "[[model.stack]]\n"
      "width = 1\n"
      "[[model.stack]]\n"
      "width = 2\n"
      "[optimizer]\n"
      "lr = 1.0e-3\n",
      "r.toml");
}

std::string override_error(std::string_view assignment) {
  Table recipe = base_recipe();
  try {
    apply_override(recipe, assignment);
  } catch (const RecipeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "--set " << assignment << " did not throw";
  return "";
}

TEST(Override, SetsAnIntegerAndNamesItselfAsTheOrigin) {
  Table recipe = base_recipe();
  apply_override(recipe, "model.hidden=64");
  const Value& hidden = *recipe.find_path("model.hidden");
  EXPECT_EQ(hidden.as_int(), 64);
  EXPECT_EQ(hidden.pos.str(), "--set model.hidden=64");
}

TEST(Override, ParsesTomlValues) {
  Table recipe = base_recipe();
  apply_override(recipe, "optimizer.lr=1.5e-4");
  apply_override(recipe, "train.dtype=\"f32\"");
  apply_override(recipe, "train.resume=true");
  apply_override(recipe, "model.dims=[1, 2]");
  apply_override(recipe, " model.hidden = 48 ");
  EXPECT_TRUE(recipe.find_path("optimizer.lr")->is_float());
  EXPECT_DOUBLE_EQ(recipe.find_path("optimizer.lr")->as_float(), 1.5e-4);
  EXPECT_EQ(recipe.find_path("train.dtype")->as_string(), "f32");
  EXPECT_TRUE(recipe.find_path("train.resume")->as_bool());
  EXPECT_EQ(recipe.find_path("model.dims")->to_toml(), "[1, 2]");
  EXPECT_EQ(recipe.find_path("model.dims")->as_array()[1].pos.str(), "--set model.dims=[1, 2]");
  EXPECT_EQ(recipe.find_path("model.hidden")->as_int(), 48);
}

TEST(Override, TakesANonTomlValueAsABareString) {
  Table recipe = base_recipe();
  apply_override(recipe, "train.dtype=f64");
  apply_override(recipe, "data.path=/data/the pile/train.bin");
  EXPECT_EQ(recipe.find_path("train.dtype")->as_string(), "f64");
  EXPECT_EQ(recipe.find_path("data.path")->as_string(), "/data/the pile/train.bin");
}

TEST(Override, SetsAnInlineTableWhole) {
  Table recipe = base_recipe();
  apply_override(recipe, "model={ heads = 8 }");
  const Table& model = recipe.get_table("model");
  EXPECT_EQ(model.size(), 1u);
  EXPECT_EQ(model.get_int("heads"), 8);
  EXPECT_EQ(model.find("heads")->pos.str(), "--set model={ heads = 8 }");
}

TEST(Override, CreatesMissingTables) {
  Table recipe = base_recipe();
  apply_override(recipe, "schedule.warmup.steps=100");
  EXPECT_EQ(recipe.find_path("schedule.warmup.steps")->as_int(), 100);
  EXPECT_EQ(recipe.get_table("schedule").pos.str(), "--set schedule.warmup.steps=100");
  EXPECT_EQ(recipe.find_path("schedule.warmup")->pos.str(), "--set schedule.warmup.steps=100");
}

TEST(Override, KeySegmentsMayBeQuoted) {
  Table recipe = base_recipe();
  apply_override(recipe, "data.\"weights.by.source\".pile=0.5");
  EXPECT_DOUBLE_EQ(recipe.get_table("data").get_table("weights.by.source").get_float("pile"), 0.5);
}

TEST(Override, IndexesIntoAnArrayOfTables) {
  Table recipe = base_recipe();
  apply_override(recipe, "model.stack.1.width=8");
  const Array& stack = recipe.get_table("model").get_array("stack");
  EXPECT_EQ(stack[0].as_table().get_int("width"), 1);
  EXPECT_EQ(stack[1].as_table().get_int("width"), 8);
  apply_override(recipe, "model.stack.0={ width = 5 }");
  EXPECT_EQ(stack[0].as_table().get_int("width"), 5);
}

TEST(Override, NeedsAnEqualsSignAndAKey) {
  EXPECT_THAT(override_error("model.hidden"),
              HasSubstr("--set model.hidden: expected key=value, e.g. --set model.hidden=64"));
  EXPECT_THAT(override_error("=64"), HasSubstr("--set =64: expected key=value"));
  EXPECT_THAT(
      override_error("model..hidden=64"),
      HasSubstr("--set model..hidden=64: 'model..hidden' is not a TOML key; write a dotted path such as "
                "model.hidden"));
}

TEST(Override, CannotGoThroughANonTable) {
  EXPECT_THAT(
      override_error("model.hidden.x=1"),
      HasSubstr("--set model.hidden.x=1: cannot set 'model.hidden.x': 'model.hidden' is an integer (32) "
                "from r.toml:2:10, not a table"));
}

TEST(Override, IndexMustBeInRange) {
  EXPECT_THAT(override_error("model.stack.2.width=8"),
              HasSubstr("--set model.stack.2.width=8: index 2 is out of range for 'model.stack', which has 2 "
                        "elements"));
  EXPECT_THAT(override_error("model.stack.first.width=8"),
              HasSubstr("'model.stack' is an array; expected an element index after it, found 'first'"));
}

TEST(Override, OriginShowsInALaterValidationError) {
  Table recipe = base_recipe();
  apply_override(recipe, "model.hidden=sixty");
  const mtnlg_key_spec keys[] = {{"hidden", MTNLG_KEY_INT, nullptr, "width", nullptr},
                                 {"stack", MTNLG_KEY_ARRAY, "[]", "layers", nullptr}};
  try {
    validate_table(recipe.find("model")->as_table(), "[model]", keys);
    FAIL() << "no error";
  } catch (const RecipeError& e) {
    EXPECT_THAT(
        e.what(),
        HasSubstr("--set model.hidden=sixty: expected an integer for 'hidden', found a string (\"sixty\")"));
  }
}

}  // namespace
}  // namespace mtnlg::recipe
