// API keys as a fold of ApiKeyCreated/ApiKeyRevoked events (pure).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "events/events.pb.h"

namespace enclave::api_keys {

struct Key {
  std::string key_id, org_id, role, hash_hex, user_id;
  std::string name, created_by;  // label; "key:…" of the creator when created online
  int64_t created_at_ms = 0;
  bool revoked = false;
};

struct State {
  std::map<std::string, Key> by_id;            // key id → key
  std::map<std::string, std::string> by_hash;  // hash hex → key id (revoked keys included)
  uint64_t last_seq = 0;
};

State apply(State s, const events::Envelope& e);

// The roles a key can have: owner | member | viewer | metrics (metrics:read only, for scrapers).
bool valid_role(std::string_view role);

// An org id: 1..64 characters of [A-Za-z0-9_-].
bool valid_org(std::string_view org);

// The keys of `org` (revoked ones included), in key-id order.
std::vector<Key> of_org(const State& s, const std::string& org);

// SHA-256 hex of a presented secret.
std::string hash_secret(const std::string& secret);

// The live (not revoked) key whose secret hashes to `hash_hex`, or nullptr.
const Key* find_live(const State& s, const std::string& hash_hex);

}  // namespace enclave::api_keys
