#pragma once
// Loading one plugin library, with every check the host makes before trusting it, in this order: the file is
// readable and an ELF object; it exports the mtnlg entry alias (looked up without running any of its code);
// it loads with every symbol resolved (rtld_now); its ABI version and ABI fingerprint equal the host's; its
// component table is well formed. A library that fails any check is refused with a reason naming the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "mtnlg/plugin.hpp"

namespace mtnlg::host {

struct ComponentRecord;

struct PluginRecord {
  std::filesystem::path path;
  std::string name;
  std::string version;
  std::uint32_t abi_version = 0;
  std::uint64_t abi_fingerprint = 0;
  std::string origin;  // why it was loaded: "built-in", "MTNLG_PLUGIN_PATH", "recipes/x.toml:3:8", ...
  const mtnlg_plugin_descriptor* descriptor = nullptr;
};

struct Refusal {
  std::filesystem::path path;
  std::string origin;
  std::string reason;
};

// Loads the library at `path`. On success the library stays loaded for the life of the process (plugins are
// never unloaded: their objects, vtables and type_info must outlive every use).
std::variant<PluginRecord, Refusal> load_plugin_library(const std::filesystem::path& path,
                                                        const std::string& origin);

// "0x1234abcd…" as printed in listings and refusals.
std::string fingerprint_str(std::uint64_t fingerprint);

}  // namespace mtnlg::host
