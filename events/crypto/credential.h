// Session credentials (pure): a JWT (HS256) minted per session, held by the control plane for
// calls it brokers on the session's behalf. It is never placed in a sandbox, never returned by
// the API and never written into the log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "events/clock.h"

namespace enclave::credential {

struct Claims {
  std::string session_id;  // hex
  std::string org_id;
  std::string scope;  // e.g. "session:broker"
  TimeMs issued_at_ms = 0;
  TimeMs expires_at_ms = 0;
};

// header.payload.signature, base64url without padding; HMAC-SHA256 over "header.payload".
std::string mint(const std::string& secret, const Claims& c);

// The claims of a token signed with `secret` that has not expired at `now`; nullopt otherwise.
std::optional<Claims> verify(const std::string& secret, const std::string& token, TimeMs now);

std::string base64url(const std::string& bytes);

}  // namespace enclave::credential
