#pragma once
// The quality classifier's 64-bit string hash. Our own rather than std::hash, whose values differ between
// standard libraries (and may change between their versions): a model trained here must score the same
// anywhere. FNV-1a over the bytes, then splitmix64's finaliser, because FNV-1a's low bits mix poorly and the
// feature index is taken from them (hash modulo the feature count).
#include <cstdint>
#include <string_view>

namespace mtnlg::data::quality {

// Streaming, so a bigram "w1 w2" is hashed without building the string.
class FeatureHash {
 public:
  void add(std::string_view bytes) {
    for (const char c : bytes) {
      state_ ^= static_cast<unsigned char>(c);
      state_ *= 0x100000001b3ULL;  // FNV-1a's 64-bit prime
    }
  }
  std::uint64_t finish() const {
    std::uint64_t z = state_;  // splitmix64's finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;  // FNV-1a's 64-bit offset basis
};

inline std::uint64_t feature_hash(std::string_view bytes) {
  FeatureHash h;
  h.add(bytes);
  return h.finish();
}

// The name the model file records, so a model hashed some other way is refused rather than misread.
inline constexpr std::string_view kFeatureHashName = "fnv1a64+splitmix64";

}  // namespace mtnlg::data::quality
