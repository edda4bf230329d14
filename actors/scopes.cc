// Role → scope policy (declared in actors/engine_types.h).
#include "actors/engine_types.h"

namespace enclave {

std::set<std::string> scopes_for_role(const std::string& role) {
  if (role == "owner")
    return {"sessions:read", "sessions:write", "audit:read", "admin", "metrics:read"};
  if (role == "member") return {"sessions:read", "sessions:write", "audit:read"};
  if (role == "viewer") return {"sessions:read", "audit:read"};
  if (role == "metrics") return {"metrics:read"};
  return {};
}

Principal default_principal() {
  return Principal{"anonymous", "default", "owner", scopes_for_role("owner")};
}

}  // namespace enclave
