#pragma once
// The error for anything wrong in a recipe: a bad file, a bad include, a bad --set, a key a component does
// not accept. It carries where the problem is, and its message starts with it, so every message reads
// "recipes/tiny.toml:12:3: unknown key 'hiden' in [model] (did you mean 'hidden'?)".
#include <string>

#include "mtnlg/config.hpp"
#include "mtnlg/error.hpp"

namespace mtnlg::recipe {

class RecipeError : public mtnlg::Error {
 public:
  RecipeError(SourcePos pos, const std::string& what);
  ~RecipeError() override;

  const SourcePos& pos() const { return pos_; }

 private:
  SourcePos pos_;
};

}  // namespace mtnlg::recipe
