#include "events/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace enclave {

std::string new_stream_id() {
  // RAND_bytes per id cost more than the id's whole append; draw 4 KiB at a time per thread
  // (each byte is handed out once).
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    if (RAND_bytes(pool, sizeof pool) != 1) throw std::runtime_error("RAND_bytes failed");
    used = 0;
  }
  std::string id(reinterpret_cast<const char*>(pool + used), 16);
  std::fill_n(pool + used, 16, 0);
  used += 16;
  // Never collide with the well-known keys stream (all zero but the last byte).
  id[0] = static_cast<char>(id[0] | 0x01);
  return id;
}

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::optional<std::string> from_hex_id(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(16, '\0');
  for (size_t i = 0; i < 16; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

std::string keys_stream_id() {
  std::string id(16, '\0');
  id[15] = 1;
  return id;
}

std::string orgs_stream_id() {
  std::string id(16, '\0');
  id[15] = 0x17;  // issue 17; 1 is the keys stream
  return id;
}

std::string secrets_stream_id() {
  std::string id(16, '\0');
  id[15] = 0x26;  // issue 26
  return id;
}

}  // namespace enclave
