#include "recipe/validate.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/parse_toml.hpp"
#include "recipe/recipe_error.hpp"

namespace mtnlg::recipe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const mtnlg_key_spec kModelKeys[] = {
    {"hidden", MTNLG_KEY_INT, nullptr, "width of the residual stream", nullptr},
    {"layers", MTNLG_KEY_INT, "2", "number of transformer layers", nullptr},
    {"dropout", MTNLG_KEY_FLOAT, "0.1", "dropout probability", nullptr},
    {"dtype", MTNLG_KEY_STRING, "\"f32\"", "parameter dtype", "f32|f64|bf16"},
    {"tied", MTNLG_KEY_BOOL, "true", "tie the embedding and the output layer", nullptr},
    {"stack", MTNLG_KEY_ARRAY, "[]", "the layers, validated by each layer", nullptr},
    {"attention", MTNLG_KEY_TABLE, "{}", "attention settings, validated by the attention layer", nullptr},
};

// The [model] table of a recipe whose text starts with "[model]\n".
Table model_table(const std::string& body) {
  return parse_toml("[model]\n" + body, "r.toml").get_table("model");
}

std::string validate_error(const std::string& body) {
  Table model = model_table(body);
  try {
    validate_table(model, "[model]", kModelKeys);
  } catch (const RecipeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "validating [model] " << body << " did not throw";
  return "";
}

TEST(ValidateTable, UnknownKeySuggestsTheNearestAndListsTheAccepted) {
  EXPECT_THAT(validate_error("hidden = 64\nhiden = 64\n"),
              HasSubstr("r.toml:3:9: unknown key 'hiden' in [model] (did you mean 'hidden'?); accepted keys: "
                        "hidden, layers, dropout, dtype, tied, stack, attention"));
}

TEST(ValidateTable, UnknownKeyFarFromEveryNameGetsNoSuggestion) {
  const std::string message = validate_error("hidden = 64\nvocabulary = 50257\n");
  EXPECT_THAT(message, HasSubstr("unknown key 'vocabulary' in [model]; accepted keys: hidden,"));
  EXPECT_THAT(message, Not(HasSubstr("did you mean")));
}

TEST(ValidateTable, UnknownKeyInATableThatTakesNone) {
  Table table = model_table("x = 1\n");
  try {
    validate_table(table, "[data] (synthetic)", {});
    FAIL() << "no error";
  } catch (const RecipeError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr("r.toml:2:5: unknown key 'x' in [data] (synthetic), which takes no keys"));
  }
}

TEST(ValidateTable, WrongTypeNamesBothTypes) {
  EXPECT_THAT(validate_error("hidden = \"sixty\"\n"),
              HasSubstr("r.toml:2:10: expected an integer for 'hidden', found a string (\"sixty\")"));
  EXPECT_THAT(validate_error("hidden = 64\ntied = 1\n"),
              HasSubstr("r.toml:3:8: expected a boolean for 'tied', found an integer (1)"));
  EXPECT_THAT(validate_error("hidden = 64\nattention = 4\n"),
              HasSubstr("expected a table for 'attention', found an integer (4)"));
}

TEST(ValidateTable, FloatIsRejectedForAnInteger) {
  EXPECT_THAT(validate_error("hidden = 64.0\n"),
              HasSubstr("r.toml:2:10: expected an integer for 'hidden', found a float (64.0)"));
}

TEST(ValidateTable, IntegerBecomesAFloatForAFloatKey) {
  Table model = model_table("hidden = 64\ndropout = 1\n");
  validate_table(model, "[model]", kModelKeys);
  const Value& dropout = *model.find("dropout");
  EXPECT_TRUE(dropout.is_float());
  EXPECT_DOUBLE_EQ(dropout.as_float(), 1.0);
  EXPECT_EQ(dropout.pos.str(), "r.toml:3:11");
}

TEST(ValidateTable, ChoicesRestrictStrings) {
  EXPECT_THAT(
      validate_error("hidden = 64\ndtype = \"f33\"\n"),
      HasSubstr("r.toml:3:9: invalid value \"f33\" for 'dtype': expected one of f32, f64, bf16 (did you "
                "mean \"f32\"?)"));
  Table model = model_table("hidden = 64\ndtype = \"bf16\"\n");
  validate_table(model, "[model]", kModelKeys);
  EXPECT_EQ(model.get_string("dtype"), "bf16");
}

TEST(ValidateTable, MissingRequiredKeyPointsAtTheTable) {
  EXPECT_THAT(
      validate_error("layers = 4\n"),
      HasSubstr("r.toml:1:1: missing required key 'hidden' in [model] (an integer: width of the residual "
                "stream)"));
}

TEST(ValidateTable, AbsentOptionalKeysGetTheirDefaults) {
  Table model = model_table("hidden = 64\nlayers = 4\n");
  validate_table(model, "[model]", kModelKeys);
  EXPECT_EQ(model.get_int("layers"), 4);
  EXPECT_EQ(model.find("layers")->pos.str(), "r.toml:3:10");
  EXPECT_DOUBLE_EQ(model.get_float("dropout"), 0.1);
  EXPECT_EQ(model.find("dropout")->pos.str(), "(default)");
  EXPECT_EQ(model.get_string("dtype"), "f32");
  EXPECT_TRUE(model.get_bool("tied"));
  EXPECT_TRUE(model.get_array("stack").empty());
  EXPECT_TRUE(model.get_table("attention").empty());
}

TEST(ValidateTable, TableAndArrayKeysAcceptAnyContents) {
  Table model =
      model_table("hidden = 64\nstack = [1, \"two\", { three = 3 }]\nattention = { anything = true }\n");
  validate_table(model, "[model]", kModelKeys);
  EXPECT_EQ(model.get_array("stack").size(), 3u);
  EXPECT_TRUE(model.get_table("attention").get_bool("anything"));
}

TEST(ValidateTable, ABadDefaultIsTheComponentsBugNotTheRecipes) {
  const mtnlg_key_spec not_toml[] = {
      {"mode", MTNLG_KEY_STRING, "fast", "a bare word is no TOML value", nullptr}};
  const mtnlg_key_spec wrong_type[] = {{"steps", MTNLG_KEY_INT, "1.5", "not an integer", nullptr}};
  const mtnlg_key_spec bad_type[] = {{"what", 42, "1", "no such type", nullptr}};
  const auto error_of = [](std::span<const mtnlg_key_spec> keys) -> std::string {
    Table empty;
    try {
      validate_table(empty, "[schedule] (cosine)", keys);
    } catch (const RecipeError& e) {
      ADD_FAILURE() << "a key spec's bug reported as a recipe error: " << e.what();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_THAT(
      error_of(not_toml),
      HasSubstr("[schedule] (cosine): the default of 'mode' in its key spec is not a TOML value: fast"));
  EXPECT_THAT(error_of(wrong_type),
              HasSubstr("[schedule] (cosine): the default of 'steps' in its key spec does not "
                        "fit it: expected an integer for 'steps', found a float (1.5)"));
  EXPECT_THAT(error_of(bad_type),
              HasSubstr("[schedule] (cosine): the key spec of 'what' has an unknown type 42"));
}

}  // namespace
}  // namespace mtnlg::recipe
