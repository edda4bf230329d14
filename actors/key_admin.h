// Offline administration of API keys (`enclaved keys create|list|revoke`). Keys are events in
// the log (ApiKeyCreated/ApiKeyRevoked on the well-known keys stream); only a SHA-256 of the
// secret is stored. These open the data dir directly, so the server must not be running.
#pragma once

#include <string>
#include <vector>

#include "events/error.h"

namespace enclave::keys {

struct KeyInfo {
  std::string key_id, org_id, role, created_at;
  bool revoked = false;
};

// Creates a key and returns its secret (shown once). `e2b_format`: the secret has the shape
// E2B's SDKs insist on (`e2b_` + 40 hex digits); otherwise `enc_` + 48 hex digits. Roles:
// owner | member | viewer. The org is 1..64 chars of [A-Za-z0-9_-].
[[nodiscard]] Result<std::string> create(const std::string& data_dir, const std::string& org,
                                         const std::string& role, bool e2b_format = false);
[[nodiscard]] Result<std::vector<KeyInfo>> list(const std::string& data_dir);
[[nodiscard]] Result<bool> revoke(const std::string& data_dir, const std::string& key_id);

}  // namespace enclave::keys
