#include "plugin_host/registry.hpp"

#include <algorithm>
#include <cstdlib>

#include <boost/dll/runtime_symbol_info.hpp>

#include "mtnlg/log.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace fs = std::filesystem;

fs::path Registry::builtin_plugin_dir() {
  // <prefix>/bin/mtnlg -> <prefix>/<libdir>/mtnlg/plugins; the build tree mirrors this layout.
  return (fs::path(boost::dll::program_location().string()).parent_path() / MTNLG_PLUGIN_DIR_FROM_BINDIR)
      .lexically_normal();
}

void Registry::load_standard_locations() {
  const fs::path builtin = builtin_plugin_dir();
  if (fs::is_directory(builtin)) load(builtin, "built-in");
  if (const char* env = std::getenv("MTNLG_PLUGIN_PATH")) {
    std::string_view rest = env;
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string entry(rest.substr(0, colon));
      if (!entry.empty()) load(entry, "MTNLG_PLUGIN_PATH");
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
}

void Registry::load(const fs::path& path, const std::string& origin) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("lib", 0) == 0 && entry.path().extension() == ".so") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());  // a stable order makes duplicate refusals reproducible
    for (const auto& f : files) load(f, origin);
    return;
  }
  // The same file reached twice (a directory and MTNLG_PLUGIN_PATH, say) is one plugin, loaded once.
  const fs::path canonical = fs::weakly_canonical(path, ec);
  for (const auto& p : plugins_)
    if (fs::weakly_canonical(p->path, ec) == canonical) return;

  auto result = load_plugin_library(path, origin);
  if (auto* refusal = std::get_if<Refusal>(&result)) {
    log_debug("refused plugin ", path.string(), ": ", refusal->reason);
    refusals_.push_back(std::move(*refusal));
    return;
  }
  add(std::move(std::get<PluginRecord>(result)));
}

void Registry::load_required(const fs::path& path, const std::string& origin) {
  const std::size_t before = refusals_.size();
  load(path, origin);
  if (refusals_.size() > before) {
    const Refusal& r = refusals_.back();
    fail(str(origin, ": plugin ", r.path.string(), " was refused: ", r.reason));
  }
}

void Registry::add(PluginRecord record) {
  const mtnlg_plugin_descriptor* d = record.descriptor;
  // A library is taken whole or not at all: refusing one duplicate component but keeping its siblings would
  // leave a half-registered plugin.
  for (std::size_t i = 0; i < d->component_count; ++i) {
    const auto& c = d->components[i];
    const auto it = components_.find(std::pair<std::string, std::string>(c.kind, c.name));
    if (it != components_.end()) {
      refusals_.push_back(
          {record.path, record.origin,
           str("duplicate component: ", c.kind, " '", c.name, "' is already provided by plugin '",
               it->second.plugin->name, "' (", it->second.plugin->path.string(), ")")});
      return;
    }
  }
  plugins_.push_back(std::make_unique<PluginRecord>(std::move(record)));
  const PluginRecord* owner = plugins_.back().get();
  for (std::size_t i = 0; i < d->component_count; ++i) {
    const auto& c = d->components[i];
    ComponentRecord rec{c.kind,
                        c.name,
                        c.summary ? c.summary : "",
                        c.factory,
                        std::vector<mtnlg_key_spec>(c.keys, c.keys + c.key_count),
                        owner,
                        c.available};
    components_.emplace(std::pair<std::string, std::string>(c.kind, c.name), std::move(rec));
  }
}

const ComponentRecord* Registry::find(std::string_view kind, std::string_view name) const {
  const auto it = components_.find(std::pair<std::string, std::string>(kind, name));
  return it == components_.end() ? nullptr : &it->second;
}

const ComponentRecord& Registry::require(std::string_view kind, std::string_view name,
                                         const SourcePos& where) const {
  if (const ComponentRecord* r = find(kind, name)) return *r;
  std::string known;
  for (const auto* r : of_kind(kind)) known += (known.empty() ? "" : ", ") + r->name;
  fail(str(where.str(), ": unknown ", kind, " '", name, "'; known ", kind,
           "s: ", known.empty() ? "none (is its plugin loaded? see `mtnlg plugins`)" : known));
}

std::vector<const ComponentRecord*> Registry::of_kind(std::string_view kind) const {
  std::vector<const ComponentRecord*> out;
  for (const auto& [key, rec] : components_)
    if (key.first == kind) out.push_back(&rec);
  return out;
}

std::vector<const ComponentRecord*> Registry::components() const {
  std::vector<const ComponentRecord*> out;
  for (const auto& [key, rec] : components_) out.push_back(&rec);
  return out;
}

std::string ComponentRecord::unavailable_reason() const {
  if (available == nullptr) return {};
  char reason[1024] = "";
  if (available(reason, sizeof reason) != 0) return {};
  return reason[0] ? reason : "its plugin gave no reason";
}

std::unique_ptr<Component> Registry::create(const ComponentRecord& record, const CreateArgs& args) const {
  if (const std::string why = record.unavailable_reason(); !why.empty())
    fail(str(record.kind, " '", record.name, "' (plugin '", record.plugin->name,
             "') is not available on this machine: ", why));
  char reason[1024] = "";
  void* made = record.factory(&args, reason, sizeof reason);
  if (made == nullptr)
    fail(str(record.kind, " '", record.name, "' (plugin '", record.plugin->name, "', ",
             record.plugin->path.string(),
             ") could not be created: ", reason[0] ? reason : "its factory gave no reason"));
  std::unique_ptr<Component> component(static_cast<Component*>(made));
  component->set_component_label(str(record.kind, " '", record.name, "'"));
  return component;
}

}  // namespace mtnlg::host
