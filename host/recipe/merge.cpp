#include "recipe/merge.hpp"

#include <utility>

namespace mtnlg::recipe {

void merge_tables(Table& base, Table top) {
  base.pos = std::move(top.pos);
  for (auto& [key, value] : top) {
    Value* existing = base.find(key);
    if (existing != nullptr && existing->is_table() && value.is_table()) {
      existing->pos = value.pos;
      merge_tables(existing->as_table(), std::move(value.as_table()));
    } else {
      base.set(std::move(key), std::move(value));
    }
  }
}

}  // namespace mtnlg::recipe
