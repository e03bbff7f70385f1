#include "recipe/load_recipe.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "recipe/describe.hpp"
#include "recipe/merge.hpp"
#include "recipe/parse_toml.hpp"
#include "recipe/recipe_error.hpp"

namespace mtnlg::recipe {

namespace fs = std::filesystem;

namespace {

// Reads the whole file; on failure returns nullopt and sets `error` to the errno that says why (stdio rather
// than iostreams because fopen and fread report it).
std::optional<std::string> read_text(const fs::path& file, int& error) {
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> in(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (!in) {
    error = errno;
    return std::nullopt;
  }
  std::string text;
  char buffer[1 << 16];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in.get())) > 0) text.append(buffer, n);
  if (std::ferror(in.get())) {
    error = errno;  // EISDIR for a directory, which fopen accepts
    return std::nullopt;
  }
  return text;
}

// The same file reached by two spellings ("a.toml", "sub/../a.toml", a symlink) is one file for cycles.
fs::path identity(const fs::path& file) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(file, ec);
  return ec ? file.lexically_normal() : canonical;
}

// The files named by a top-level `include`, each with the position to blame if it cannot be read.
std::vector<std::pair<std::string, SourcePos>> included_files(const Value& include) {
  std::vector<std::pair<std::string, SourcePos>> files;
  const auto add = [&](const Value& name) {
    if (!name.is_string()) {
      throw RecipeError(name.pos,
                        "'include' takes a file name or an array of file names, found " + describe(name));
    }
    files.emplace_back(name.as_string(), name.pos);
  };
  if (include.is_array()) {
    for (const Value& name : include.as_array()) add(name);
  } else {
    add(include);
  }
  return files;
}

class Loader {
 public:
  // `included_at` is the position of the include that names `file`, null for the recipe itself.
  Table load(const fs::path& file, const SourcePos* included_at) {
    const std::string name = file.string();
    const fs::path id = identity(file);
    const auto open = std::find_if(open_.begin(), open_.end(), [&](const auto& f) { return f.first == id; });
    if (open != open_.end()) {
      std::string chain;
      for (auto it = open; it != open_.end(); ++it) chain += it->second + " -> ";
      throw RecipeError(*included_at, "include cycle: " + chain + name);
    }

    int error = 0;
    const std::optional<std::string> text = read_text(file, error);
    if (!text) {
      const std::string reason = std::strerror(error);
      if (included_at == nullptr) {
        SourcePos pos;
        pos.file = name;
        throw RecipeError(std::move(pos), "cannot read the recipe: " + reason);
      }
      throw RecipeError(*included_at, "cannot read included file '" + name + "': " + reason);
    }

    Table own = parse_toml(*text, name);
    Table merged;
    if (const Value* include = own.find("include")) {
      open_.emplace_back(id, name);
      for (const auto& [included, pos] : included_files(*include)) {
        merge_tables(merged, load((file.parent_path() / included).lexically_normal(), &pos));
      }
      open_.pop_back();
      own.erase("include");
    }
    merge_tables(merged, std::move(own));
    return merged;
  }

 private:
  // The files being loaded, outermost first: identity and name as shown in messages.
  std::vector<std::pair<fs::path, std::string>> open_;
};

}  // namespace

Table load_recipe(const fs::path& file) {
  return Loader().load(file, nullptr);
}

}  // namespace mtnlg::recipe
