#include "recipe/describe.hpp"

namespace mtnlg::recipe {

namespace {
// A whole table in a one-line message would bury the point; its beginning is enough to recognise it.
constexpr std::size_t kMaxShown = 60;
}  // namespace

std::string with_article(std::string_view type_name) {
  const bool vowel =
      !type_name.empty() && std::string_view("aeiou").find(type_name.front()) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(type_name);
}

std::string describe(const Value& value) {
  std::string text = value.to_toml();
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown - 3) + "...";
  return with_article(value_type_name(value.type())) + " (" + text + ")";
}

}  // namespace mtnlg::recipe
