// Offline administration of API keys (`enclaved keys create|list|revoke`). Keys are events in
// the log (ApiKeyCreated/ApiKeyRevoked on the well-known keys stream); only a SHA-256 of the
// secret is stored. These open the data dir directly, so the server must not be running (the
// bootstrap path; a running server administers keys online: actors/key_service.h).
#pragma once

#include <string>
#include <vector>

#include "events/error.h"
#include "events/events.pb.h"

namespace enclave::keys {

struct KeyInfo {
  std::string key_id, org_id, role, created_at;
  bool revoked = false;
  std::string name;
};

// A fresh key: its secret (shown once) and the ApiKeyCreated event holding only its hash (stream,
// seq and time are the appender's to set). Shared by the offline and the online path.
struct Minted {
  std::string secret, key_id;
  events::Envelope event;
};
// Errors: an org or role out of shape (kInvalidArgument naming "org" or "role"), a name longer
// than 100 characters or with control characters ("name").
[[nodiscard]] Result<Minted> mint(const std::string& org, const std::string& role,
                                  const std::string& name, bool e2b_format,
                                  const std::string& created_by);

// Creates a key and returns its secret (shown once). `e2b_format`: the secret has the shape
// E2B's SDKs insist on (`e2b_` + 40 hex digits); otherwise `enc_` + 48 hex digits. Roles:
// owner | member | viewer. The org is 1..64 chars of [A-Za-z0-9_-].
[[nodiscard]] Result<std::string> create(const std::string& data_dir, const std::string& org,
                                         const std::string& role, bool e2b_format = false);
[[nodiscard]] Result<std::vector<KeyInfo>> list(const std::string& data_dir);
[[nodiscard]] Result<bool> revoke(const std::string& data_dir, const std::string& key_id);

}  // namespace enclave::keys
