#include "recipe/recipe_error.hpp"

#include <utility>

namespace mtnlg::recipe {

RecipeError::RecipeError(SourcePos pos, const std::string& what)
    : mtnlg::Error(pos.str() + ": " + what), pos_(std::move(pos)) {}

RecipeError::~RecipeError() = default;

}  // namespace mtnlg::recipe
