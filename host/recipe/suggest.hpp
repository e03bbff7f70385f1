#pragma once
// "Did you mean ...?" for misspelt names.
#include <optional>
#include <span>
#include <string_view>

namespace mtnlg::recipe {

// The candidate nearest to `word` by edit distance, if it is at most 2 edits away (a typo rather than a
// different word); the first one listed wins a tie. Nullopt when none is that close, or `word` is one of
// them.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace mtnlg::recipe
