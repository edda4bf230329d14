// Big-endian u64 keys and values: the event log's byte order, so keys sort as their numbers do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace enclave::storage {

// Appends `v` as 8 big-endian bytes.
inline void put_u64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads 8 big-endian bytes; the caller guarantees `in` holds at least 8.
inline uint64_t get_u64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(in[i]);
  return v;
}

}  // namespace enclave::storage
