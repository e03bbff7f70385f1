#include "recipe/print_recipe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "recipe/load_recipe.hpp"
#include "recipe/override.hpp"
#include "temp_dir.hpp"

namespace mtnlg::recipe {
namespace {

using testing::TempDir;

// Equal as TOML data: same keys with equal values, whatever their order and positions.
::testing::AssertionResult same_tree(const Value& a, const Value& b, const std::string& path) {
  if (a.type() != b.type()) {
    return ::testing::AssertionFailure() << path << ": " << a.to_toml() << " vs " << b.to_toml();
  }
  if (a.is_table()) {
    const Table& ta = a.as_table();
    const Table& tb = b.as_table();
    if (ta.size() != tb.size()) return ::testing::AssertionFailure() << path << ": different key counts";
    for (const auto& [key, value] : ta) {
      const Value* other = tb.find(key);
      if (other == nullptr) return ::testing::AssertionFailure() << path << ": '" << key << "' missing";
      if (auto r = same_tree(value, *other, path + "." + key); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  if (a.is_array()) {
    const Array& aa = a.as_array();
    const Array& ab = b.as_array();
    if (aa.size() != ab.size()) return ::testing::AssertionFailure() << path << ": different lengths";
    for (std::size_t i = 0; i < aa.size(); ++i) {
      if (auto r = same_tree(aa[i], ab[i], path + "." + std::to_string(i)); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }
  if (a.to_toml() != b.to_toml()) {
    return ::testing::AssertionFailure() << path << ": " << a.to_toml() << " vs " << b.to_toml();
  }
  return ::testing::AssertionSuccess();
}

TEST(PrintRecipe, WritesSectionsAfterTopLevelKeys) {
  TempDir dir;
  const Table recipe = load_recipe(dir.write("r.toml",
                                             "[model]\n"
                                             "hidden = 64\n"
                                             "[model.attention]\n"
                                             "heads = 8\n"
                                             "[[model.stack]]\n"
                                             "kind = \"mlp\"\n"
                                             "[[model.stack]]\n"
                                             "kind = \"attention\"\n"
                                             "[optimizer]\n"
                                             "lr = 1.5e-4\n"
                                             "betas = [0.9, 0.95]\n"));
  Table with_seed = recipe;
  apply_override(with_seed, "seed=1234");
  EXPECT_EQ(print_recipe(with_seed),
            "seed = 1234\n"
            "\n"
            "[model]\n"
            "hidden = 64\n"
            "\n"
            "[model.attention]\n"
            "heads = 8\n"
            "\n"
            "[[model.stack]]\n"
            "kind = \"mlp\"\n"
            "\n"
            "[[model.stack]]\n"
            "kind = \"attention\"\n"
            "\n"
            "[optimizer]\n"
            "lr = 0.00015\n"
            "betas = [0.9, 0.95]\n");
}

TEST(PrintRecipe, RoundTripsThroughLoadRecipe) {
  TempDir dir;
  const std::string source =
      "title = \"quote \\\" backslash \\\\ tab \\t newline \\n unicode \\u00e9\"\n"
      "\"key with spaces\" = 1\n"
      "huge = 9223372036854775807\n"
      "tiny = -1.0e-300\n"
      "whole = 3.0\n"
      "special = [inf, -inf]\n"
      "empty_array = []\n"
      "mixed = [1, \"a\", [2, 3], { b = { c = 4 } }]\n"
      "points = [{ x = 1 }, { x = 2 }]\n"
      "a.dotted.key = true\n"
      "[empty]\n"
      "[only.sub.tables]\n"
      "x = 1\n"
      "[model]\n"
      "inline = { p = 1, q = { r = \"s\" } }\n"
      "[[model.stack]]\n"
      "width = 1\n"
      "[model.stack.attention]\n"
      "heads = 2\n"
      "[[model.stack.experts]]\n"
      "e = 1\n"
      "[[model.stack]]\n"
      "\"odd.key\" = \"dot\"\n";
  const Table original = load_recipe(dir.write("original.toml", source));
  const std::string printed = print_recipe(original);
  const Table reloaded = load_recipe(dir.write("printed.toml", printed));
  EXPECT_TRUE(same_tree(Value(original), Value(reloaded), "")) << printed;
  // Printing is stable: the reloaded recipe prints the same text.
  EXPECT_EQ(print_recipe(reloaded), printed);
}

}  // namespace
}  // namespace mtnlg::recipe
