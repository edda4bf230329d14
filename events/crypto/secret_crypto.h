// Secrets at rest: AES-256-GCM under a key derived from the server's credential secret
// (ENCLAVE_CRED_SECRET, or the one generated into the data dir), so the log alone never yields a
// value. The org and the secret's name are authenticated with it (AAD): a sealed value moved to
// another org or name in the log does not open.
#pragma once

#include <optional>
#include <string>

#include "events/error.h"

namespace enclave::secrets {

// The 32-byte sealing key: HMAC-SHA256(credential secret, "enclave secrets at rest v1").
std::string derive_key(const std::string& credential_secret);

struct Sealed {
  std::string nonce;   // 12 random bytes
  std::string sealed;  // ciphertext ‖ 16-byte tag
};
// Errors: the random number generator or the cipher failed (kInternal).
[[nodiscard]] Result<Sealed> seal(const std::string& key, const std::string& org,
                                  const std::string& name, const std::string& value);
// The value, or nullopt when the bytes were altered, moved, or sealed under another key.
std::optional<std::string> open(const std::string& key, const std::string& org,
                                const std::string& name, const std::string& nonce,
                                const std::string& sealed);

}  // namespace enclave::secrets
