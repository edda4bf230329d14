#include "events/api_keys.h"

#include <openssl/sha.h>

#include "events/codec/sha256.h"
#include "events/ids.h"

namespace enclave::api_keys {

State apply(State s, const events::Envelope& e) {
  if (e.payload_case() == events::Envelope::kApiKeyCreated) {
    const auto& c = e.api_key_created();
    Key k{c.key_id(), c.org_id(),     c.role(),  c.hash_hex(), c.user_id(),
          c.name(),   c.created_by(), e.at_ms(), false};
    s.by_hash[k.hash_hex] = k.key_id;
    s.by_id[k.key_id] = std::move(k);
  } else if (e.payload_case() == events::Envelope::kApiKeyRevoked) {
    auto it = s.by_id.find(e.api_key_revoked().key_id());
    if (it != s.by_id.end()) it->second.revoked = true;
  } else {
    return s;
  }
  s.last_seq = e.seq();
  return s;
}

bool valid_role(std::string_view role) {
  return role == "owner" || role == "member" || role == "viewer" || role == "metrics";
}

bool valid_org(std::string_view org) {
  if (org.empty() || org.size() > 64) return false;
  for (char c : org) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::vector<Key> of_org(const State& s, const std::string& org) {
  std::vector<Key> out;
  for (const auto& [id, k] : s.by_id)
    if (k.org_id == org) out.push_back(k);
  return out;
}

std::string hash_secret(const std::string& secret) { return sha256_hex(secret); }

const Key* find_live(const State& s, const std::string& hash_hex) {
  auto h = s.by_hash.find(hash_hex);
  if (h == s.by_hash.end()) return nullptr;
  auto k = s.by_id.find(h->second);
  if (k == s.by_id.end() || k->second.revoked) return nullptr;
  return &k->second;
}

}  // namespace enclave::api_keys
