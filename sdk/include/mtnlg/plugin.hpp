#pragma once
// The plugin entry point. A plugin library exports exactly one Boost.DLL alias, `mtnlg_plugin_entry`, a
// function returning a C-layout descriptor: ABI version and fingerprint first (the host checks them before
// reading anything else), then the plugin's name and version and its components. Factories never throw:
// they return null and write the reason into the host's buffer.
//
//   MTNLG_PLUGIN("my-layers", "1.0.0",
//                mtnlg::component<MyLayer>("my_layer", "what it does", kMyLayerKeys));
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <iterator>
#include <string>

#include <boost/dll/alias.hpp>

#include "mtnlg/abi.hpp"
#include "mtnlg/component.hpp"
#include "mtnlg/config.hpp"

extern "C" {
// Returns a new mtnlg::Component* built from `create_args` (a const mtnlg::CreateArgs*), or null after
// writing a NUL-terminated reason into `error` (at most `error_capacity` bytes).
typedef void* (*mtnlg_factory_fn)(const void* create_args, char* error, size_t error_capacity);
// Whether the component can be created on this machine (a GPU backend without a GPU cannot): returns 1, or 0
// after writing the reason into `reason`. Null in an entry: always available.
typedef int (*mtnlg_available_fn)(char* reason, size_t reason_capacity);

struct mtnlg_component_entry {
  const char* kind;     // "backend", "layer", "schedule", "optimizer", "reader", ...
  const char* name;     // what a recipe writes
  const char* summary;  // one line
  mtnlg_factory_fn factory;
  const mtnlg_key_spec* keys;  // the recipe keys the component accepts
  size_t key_count;
  mtnlg_available_fn available;  // null: always available
};

struct mtnlg_plugin_descriptor {
  uint32_t abi_version;
  uint64_t abi_fingerprint;
  const char* name;
  const char* version;
  const mtnlg_component_entry* components;
  size_t component_count;
};

typedef const mtnlg_plugin_descriptor* (*mtnlg_plugin_entry_fn)(void);
}

namespace mtnlg {

inline constexpr const char* kPluginEntryAlias = "mtnlg_plugin_entry";

namespace detail {
inline void write_reason(char* error, std::size_t capacity, const char* reason) noexcept {
  if (error == nullptr || capacity == 0) return;
  std::strncpy(error, reason, capacity - 1);
  error[capacity - 1] = '\0';
}
}  // namespace detail

template <class T>
void* create_component(const void* create_args, char* error, std::size_t error_capacity) noexcept {
  try {
    return static_cast<Component*>(new T(*static_cast<const CreateArgs*>(create_args)));
  } catch (const std::exception& e) {
    detail::write_reason(error, error_capacity, e.what());
  } catch (...) {
    detail::write_reason(error, error_capacity, "unknown exception");
  }
  return nullptr;
}

// A component that may be unavailable on a machine declares `static bool available(std::string& reason)`;
// this wraps it for the descriptor. It must not throw.
template <class T>
int component_available(char* reason, std::size_t capacity) noexcept {
  try {
    std::string why;
    if (T::available(why)) return 1;
    detail::write_reason(reason, capacity, why.c_str());
  } catch (const std::exception& e) {
    detail::write_reason(reason, capacity, e.what());
  } catch (...) {
    detail::write_reason(reason, capacity, "unknown exception while checking availability");
  }
  return 0;
}

template <class T>
constexpr mtnlg_available_fn availability_of() {
  if constexpr (requires(std::string & why) { T::available(why); })
    return &component_available<T>;
  else
    return nullptr;
}

// One entry of a plugin's component table. T derives from the interface of its kind (T::kKind).
template <class T, std::size_t N>
mtnlg_component_entry component(const char* name, const char* summary, const mtnlg_key_spec (&keys)[N]) {
  return {T::kKind, name, summary, &create_component<T>, keys, N, availability_of<T>()};
}
template <class T>
mtnlg_component_entry component(const char* name, const char* summary) {
  return {T::kKind, name, summary, &create_component<T>, nullptr, 0, availability_of<T>()};
}

}  // namespace mtnlg

// Tests override these to build deliberately incompatible plugins.
#ifndef MTNLG_PLUGIN_ABI_VERSION
#define MTNLG_PLUGIN_ABI_VERSION ::mtnlg::kAbiVersion
#endif
#ifndef MTNLG_PLUGIN_ABI_FINGERPRINT
#define MTNLG_PLUGIN_ABI_FINGERPRINT ::mtnlg::abi_fingerprint()
#endif

#define MTNLG_PLUGIN(NAME, VERSION, ...)                                                  \
  namespace {                                                                             \
  const mtnlg_component_entry mtnlg_plugin_components[] = {__VA_ARGS__ __VA_OPT__(, ){}}; \
  const mtnlg_plugin_descriptor mtnlg_plugin_descriptor_value = {                         \
      MTNLG_PLUGIN_ABI_VERSION, MTNLG_PLUGIN_ABI_FINGERPRINT,          NAME, VERSION,     \
      mtnlg_plugin_components,  std::size(mtnlg_plugin_components) - 1};                  \
  const mtnlg_plugin_descriptor* mtnlg_plugin_entry_impl() {                              \
    return &mtnlg_plugin_descriptor_value;                                                \
  }                                                                                       \
  }                                                                                       \
  BOOST_DLL_ALIAS(mtnlg_plugin_entry_impl, mtnlg_plugin_entry)
