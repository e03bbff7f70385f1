#pragma once
// What must match between the host and a plugin before anything else is touched: the ABI version (bumped by
// hand when the descriptor's layout changes) and the ABI fingerprint, computed where each side is compiled
// from a hash of the SDK headers generated at build time and the compiler's C++ ABI settings. A plugin built
// against other SDK headers, or with another libstdc++ string ABI, gets another fingerprint and is refused.
#include <cstddef>  // defines _GLIBCXX_USE_CXX11_ABI on libstdc++
#include <cstdint>
#include <string_view>

#include "mtnlg/abi_fingerprint.hpp"  // generated: MTNLG_SDK_HEADERS_HASH

namespace mtnlg {

inline constexpr std::uint32_t kAbiVersion = 2;  // 2: components may declare availability

namespace detail {
constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = 1469598103934665603ull) {
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}
constexpr std::uint64_t fold(std::uint64_t h, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xFFu)) * 1099511628211ull;
  return h;
}
}  // namespace detail

constexpr std::uint64_t abi_fingerprint() {
  std::uint64_t h = detail::fnv1a(MTNLG_SDK_HEADERS_HASH);
#ifdef __GXX_ABI_VERSION
  h = detail::fold(h, __GXX_ABI_VERSION);
#endif
#ifdef _GLIBCXX_USE_CXX11_ABI
  h = detail::fold(h, 100 + _GLIBCXX_USE_CXX11_ABI);
#endif
#ifdef __clang__
  h = detail::fold(h, 0xC1A46);
#endif
  h = detail::fold(h, sizeof(void*));
  return h;
}

}  // namespace mtnlg
