#pragma once
// The registry of every component the loaded plugins provide, keyed by (kind, name). It owns the loading
// policy: where plugins come from, refusals, duplicates, and creating components through their factories.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mtnlg/component.hpp"
#include "mtnlg/config.hpp"
#include "plugin_host/plugin_library.hpp"

namespace mtnlg::host {

struct ComponentRecord {
  std::string kind;
  std::string name;
  std::string summary;
  mtnlg_factory_fn factory = nullptr;
  std::vector<mtnlg_key_spec> keys;
  const PluginRecord* plugin = nullptr;
  mtnlg_available_fn available = nullptr;  // null: always available

  // Empty when the component can be created on this machine, else why not (no GPU, no driver).
  std::string unavailable_reason() const;
};

class Registry {
 public:
  // The plugins installed next to the host (<prefix>/lib/mtnlg/plugins), then every entry of
  // MTNLG_PLUGIN_PATH (':'-separated files or directories).
  void load_standard_locations();
  // A library file, or every lib*.so in a directory. Refusals are recorded, not thrown.
  void load(const std::filesystem::path& path, const std::string& origin);
  // Like load(), but a refusal is an error: for plugins a user asked for by name.
  void load_required(const std::filesystem::path& path, const std::string& origin);

  const std::vector<std::unique_ptr<PluginRecord>>& plugins() const { return plugins_; }
  const std::vector<Refusal>& refusals() const { return refusals_; }

  const ComponentRecord* find(std::string_view kind, std::string_view name) const;
  // The component, or an error at `where` listing the known components of that kind.
  const ComponentRecord& require(std::string_view kind, std::string_view name, const SourcePos& where) const;
  std::vector<const ComponentRecord*> of_kind(std::string_view kind) const;
  std::vector<const ComponentRecord*> components() const;

  // Creates the component through its plugin's factory; a factory failure is an error naming the component,
  // its plugin and the reason the factory gave.
  std::unique_ptr<Component> create(const ComponentRecord& record, const CreateArgs& args) const;
  template <class T>
  std::unique_ptr<T> create_as(const ComponentRecord& record, const CreateArgs& args) const {
    MTNLG_CHECK(record.kind == T::kKind, "component kind mismatch");
    return std::unique_ptr<T>(static_cast<T*>(create(record, args).release()));
  }

  // Where the host looks for its own plugins.
  static std::filesystem::path builtin_plugin_dir();

 private:
  void add(PluginRecord record);
  std::vector<std::unique_ptr<PluginRecord>> plugins_;
  std::vector<Refusal> refusals_;
  std::map<std::pair<std::string, std::string>, ComponentRecord, std::less<>> components_;
};

}  // namespace mtnlg::host
