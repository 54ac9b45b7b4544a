// FNV-1a 64: the one stable hash of rankpool. Header-only and MPI-free, so that every module
// can use it: the farm's journal keys, the crawler's origin ownership and body file names.
// Its values are part of file formats (journals, body names): never change it.
#pragma once

#include <cstdint>
#include <string_view>

namespace rankpool {

inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;  // 0xcbf29ce484222325

/// FNV-1a 64, incremental: hash = fnv1a(bytes, hash).
constexpr std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = kFnv1aOffset) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;  // 0x100000001b3
  }
  return hash;
}

static_assert(fnv1a("") == kFnv1aOffset);
static_assert(fnv1a("a") == 0xaf63dc4c8601ec8cull);  // the published test vector

}  // namespace rankpool
