// SHA-256, one implementation for the whole tree (the log's hash chain, Merkle leaves, API key
// hashes, the code hash of every exec turn).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace enclave {

// The digest of `bytes`, raw 32 bytes.
std::string sha256(std::string_view bytes);
// The digest of the parts one after the other (no copy into one buffer), raw 32 bytes.
std::string sha256(std::initializer_list<std::string_view> parts);
// The digest as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace enclave
