#pragma once
// XXH64 (Yann Collet's xxHash, 64-bit variant), written out here so that shingle and bucket hashes are the
// same on every compiler and platform: std::hash's values are implementation-defined, and dedup results
// (which documents survive) must not change with the toolchain. Verified against libxxhash's test vectors.
#include <cstdint>
#include <string_view>

namespace mtnlg::data::dedup {

std::uint64_t xxhash64(std::string_view bytes, std::uint64_t seed);

}  // namespace mtnlg::data::dedup
