#pragma once
// A component whose implementation lives in a second module, loaded the first time it is needed.
//
// Why: the host loads every plugin to read its descriptor, on every run of every rank. A plugin linked to
// cuBLAS, cuBLASLt and NCCL makes the dynamic loader map and relocate hundreds of MiB of them each time:
// 0.4 s and ~220 MiB of resident memory per process, on a machine without a GPU that never uses them. So
// such a plugin is split in two:
//  - the plugin proper (descriptor, recipe keys) links only the SDK; its component entry comes from
//    deferred::component below;
//  - the implementation module declares the same component with MTNLG_PLUGIN as any plugin would, and sits
//    next to the plugin under a name without the "lib" prefix, so the host's directory scan passes it by.
// The component's availability check first probes for a driver library (libcuda.so.1): where there is none
// the component is unavailable and the implementation is never loaded. Otherwise (and on creation) the
// implementation module is loaded, checked like any plugin (ABI version and fingerprint), and the call is
// forwarded to its component of the same kind and name. A module that is missing or refused makes the
// component unavailable, with the file and the reason in the message.
//
// Test hook: MTNLG_SKIP_DRIVER_PROBE=1 skips the probe, so a machine without a GPU loads the implementation
// too (and hears from it why it cannot run).
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "mtnlg/plugin.hpp"
#include "mtnlg/str.hpp"

namespace mtnlg::deferred {

// Spec: a struct with static constexpr const char*
//   kKind, kName  — the component, as in the implementation module's descriptor;
//   kModule       — the implementation module's file name, in this plugin's directory;
//   kDriver       — a library whose absence means the component cannot run here (nullptr: no probe);
//   kNoDriver     — what unavailability without the driver means, said after the probe's failure.

namespace detail {

// The loader's own words from a Boost.DLL load error ("boost::dll::shared_library::load() failed (dlerror
// system message: <this>): <errno text>"), or the whole message when it has another form.
inline std::string loader_message(const std::exception& e) {
  const std::string what = e.what(), marker = "dlerror system message: ";
  const auto at = what.find(marker);
  if (at == std::string::npos) return what;
  const auto begin = at + marker.size(), end = what.rfind("):");
  return what.substr(begin, end == std::string::npos || end < begin ? std::string::npos : end - begin);
}

// Modules and driver libraries stay loaded for the life of the process: components created from them may
// outlive any static destructor.
inline std::vector<boost::dll::shared_library>& kept_libraries() {
  static auto* kept = new std::vector<boost::dll::shared_library>();
  return *kept;
}

// The implementation's component entry, or null after writing why into *error.
inline const mtnlg_component_entry* load_component(const boost::dll::fs::path& file, const char* kind,
                                                   const char* name, std::string* error) {
  boost::dll::shared_library library;
  try {
    library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    *error = str("cannot load its implementation module ", file.string(), ": ", loader_message(e),
                 " (it is installed next to the plugin; reinstall mtnlg)");
    return nullptr;
  }
  const mtnlg_plugin_descriptor* d = nullptr;
  try {
    d = library.get_alias<const mtnlg_plugin_descriptor*()>(kPluginEntryAlias)();
  } catch (const std::exception& e) {
    *error = str("its implementation module ", file.string(), " has no entry point: ", e.what());
    return nullptr;
  }
  if (d == nullptr || d->abi_version != kAbiVersion || d->abi_fingerprint != abi_fingerprint()) {
    *error =
        str("its implementation module ", file.string(),
            " was built against another mtnlg SDK (ABI version or fingerprint differs); reinstall mtnlg");
    return nullptr;
  }
  for (std::size_t i = 0; i < d->component_count; ++i) {
    const mtnlg_component_entry& c = d->components[i];
    if (c.kind != nullptr && c.name != nullptr && c.factory != nullptr && std::string(c.kind) == kind &&
        std::string(c.name) == name) {
      kept_libraries().push_back(std::move(library));
      return &c;
    }
  }
  *error = str("its implementation module ", file.string(), " has no ", kind, " '", name, "'");
  return nullptr;
}

// Whether `driver` can be loaded (it then stays loaded); else why not in *error.
inline bool driver_present(const char* driver, std::string* error) {
  if (const char* skip = std::getenv("MTNLG_SKIP_DRIVER_PROBE"); skip != nullptr && std::string(skip) == "1")
    return true;
  try {
    kept_libraries().emplace_back(driver, boost::dll::load_mode::search_system_folders |
                                              boost::dll::load_mode::rtld_lazy |
                                              boost::dll::load_mode::rtld_local);
    return true;
  } catch (const std::exception& e) {
    *error = loader_message(e);
    return false;
  }
}

// Why Spec's driver is missing, probed once; null where it is present or Spec names none.
template <class Spec>
const std::string* missing_driver() {
  static const std::string* why = []() -> const std::string* {
    std::string error;
    if (Spec::kDriver == nullptr || driver_present(Spec::kDriver, &error)) return nullptr;
    return new std::string(std::move(error));
  }();
  return why;
}

struct Loaded {
  const mtnlg_component_entry* entry = nullptr;
  std::string error;
};

// The implementation, loaded once. this_line_location() is this plugin's file: the function is instantiated,
// with hidden visibility, in the plugin that uses Spec.
template <class Spec>
const Loaded& implementation() {
  static const Loaded* loaded = [] {
    auto* l = new Loaded();
    const boost::dll::fs::path file = boost::dll::this_line_location().parent_path() / Spec::kModule;
    l->entry = load_component(file, Spec::kKind, Spec::kName, &l->error);
    return l;
  }();
  return *loaded;
}

template <class Spec>
int available(char* reason, std::size_t capacity) noexcept {
  try {
    if (const std::string* why = missing_driver<Spec>()) {
      mtnlg::detail::write_reason(
          reason, capacity,
          str(Spec::kNoDriver, ": the driver library ", Spec::kDriver, " cannot be loaded (", *why, ")")
              .c_str());
      return 0;
    }
    const Loaded& impl = implementation<Spec>();
    if (impl.entry == nullptr) {
      mtnlg::detail::write_reason(reason, capacity, impl.error.c_str());
      return 0;
    }
    return impl.entry->available == nullptr ? 1 : impl.entry->available(reason, capacity);
  } catch (const std::exception& e) {
    mtnlg::detail::write_reason(reason, capacity, e.what());
  } catch (...) {
    mtnlg::detail::write_reason(reason, capacity, "unknown exception while checking availability");
  }
  return 0;
}

template <class Spec>
void* create(const void* create_args, char* error, std::size_t error_capacity) noexcept {
  try {
    const Loaded& impl = implementation<Spec>();
    if (impl.entry == nullptr) {
      mtnlg::detail::write_reason(error, error_capacity, impl.error.c_str());
      return nullptr;
    }
    return impl.entry->factory(create_args, error, error_capacity);
  } catch (const std::exception& e) {
    mtnlg::detail::write_reason(error, error_capacity, e.what());
  } catch (...) {
    mtnlg::detail::write_reason(error, error_capacity, "unknown exception");
  }
  return nullptr;
}

}  // namespace detail

// The plugin's entry for Spec's component: its summary and recipe keys here, the rest in the implementation.
template <class Spec, std::size_t N>
mtnlg_component_entry component(const char* summary, const mtnlg_key_spec (&keys)[N]) {
  return {Spec::kKind, Spec::kName, summary, &detail::create<Spec>, keys, N, &detail::available<Spec>};
}
template <class Spec>
mtnlg_component_entry component(const char* summary) {
  return {Spec::kKind, Spec::kName, summary, &detail::create<Spec>, nullptr, 0, &detail::available<Spec>};
}

}  // namespace mtnlg::deferred
