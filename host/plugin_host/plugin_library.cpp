#include "plugin_host/plugin_library.hpp"

#include <cstdio>
#include <fstream>
#include <set>
#include <vector>  // before library_info.hpp with BOOST_DLL_USE_STD_FS on Boost 1.74

#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "mtnlg/str.hpp"

namespace mtnlg::host {

namespace {

// Handles are kept here and never released: unloading a plugin while any object it made may still be alive
// (including during static destruction) is undefined behaviour, so the process keeps every library it loaded.
std::vector<boost::dll::shared_library>& loaded_handles() {
  static auto* handles = new std::vector<boost::dll::shared_library>();
  return *handles;
}

const std::set<std::string, std::less<>> kKnownKinds = {"backend",     "communicator",   "layer",
                                                        "strategy",    "schedule",       "optimizer",
                                                        "lr_schedule", "batch_schedule", "reader"};

Refusal refuse(const std::filesystem::path& path, const std::string& origin, std::string reason) {
  return Refusal{path, origin, std::move(reason)};
}

}  // namespace

std::string fingerprint_str(std::uint64_t fingerprint) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(fingerprint));
  return buf;
}

std::variant<PluginRecord, Refusal> load_plugin_library(const std::filesystem::path& path,
                                                        const std::string& origin) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return refuse(path, origin, "no such file");
  if (!std::filesystem::is_regular_file(path, ec)) return refuse(path, origin, "not a regular file");
  {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    if (!in.read(magic, 4))
      return refuse(path, origin, "cannot read the file (or it is shorter than an ELF header)");
    if (!(magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F'))
      return refuse(path, origin, "not a shared library (no ELF header)");
  }

  // Look for the entry alias without loading the library, so a foreign .so never runs its initialisers here.
  try {
    boost::dll::library_info info(path.string());
    bool has_entry = false;
    for (const auto& symbol : info.symbols("boostdll")) has_entry |= symbol == kPluginEntryAlias;
    if (!has_entry)
      return refuse(path, origin,
                    str("not an mtnlg plugin: it does not export the '", kPluginEntryAlias,
                        "' entry point (a plugin declares its components with MTNLG_PLUGIN(...))"));
  } catch (const std::exception& e) {
    return refuse(path, origin, str("cannot read its symbol table: ", e.what()));
  }

  boost::dll::shared_library library;
  try {
    library.load(path.string(), boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return refuse(path, origin, str("failed to load (a missing library or unresolved symbol?): ", e.what()));
  }

  const mtnlg_plugin_descriptor* d = nullptr;
  try {
    d = library.get_alias<const mtnlg_plugin_descriptor*()>(kPluginEntryAlias)();
  } catch (const std::exception& e) {
    return refuse(path, origin, str("cannot call its entry point: ", e.what()));
  }
  if (d == nullptr) return refuse(path, origin, "its entry point returned no descriptor");

  // Version and fingerprint before anything else in the descriptor is read.
  if (d->abi_version != kAbiVersion)
    return refuse(path, origin,
                  str("ABI version mismatch: the plugin was built for mtnlg plugin ABI ", d->abi_version,
                      ", this host speaks ABI ", kAbiVersion, "; rebuild the plugin against this mtnlg SDK"));
  if (d->abi_fingerprint != abi_fingerprint())
    return refuse(path, origin,
                  str("ABI fingerprint mismatch: plugin ", fingerprint_str(d->abi_fingerprint), ", host ",
                      fingerprint_str(abi_fingerprint()),
                      "; the plugin was built against other SDK headers or another C++ ABI (compiler, "
                      "_GLIBCXX_USE_CXX11_ABI): rebuild it against this mtnlg SDK with the same compiler"));

  if (d->name == nullptr || d->version == nullptr || (d->component_count > 0 && d->components == nullptr))
    return refuse(path, origin, "malformed descriptor (missing name, version or component table)");
  for (std::size_t i = 0; i < d->component_count; ++i) {
    const mtnlg_component_entry& c = d->components[i];
    if (c.kind == nullptr || c.name == nullptr || c.factory == nullptr ||
        (c.key_count > 0 && c.keys == nullptr))
      return refuse(path, origin, str("malformed component entry #", i));
    if (!kKnownKinds.contains(c.kind)) {
      std::string kinds;
      for (const auto& k : kKnownKinds) kinds += (kinds.empty() ? "" : ", ") + k;
      return refuse(path, origin,
                    str("component '", c.name, "' has unknown kind '", c.kind, "' (known: ", kinds, ")"));
    }
  }

  PluginRecord record{path, d->name, d->version, d->abi_version, d->abi_fingerprint, origin, d};
  loaded_handles().push_back(std::move(library));
  return record;
}

}  // namespace mtnlg::host
