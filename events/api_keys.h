// API keys as a fold of ApiKeyCreated/ApiKeyRevoked events (pure).
#pragma once

#include <map>
#include <string>

#include "events/events.pb.h"

namespace enclave::api_keys {

struct Key {
  std::string key_id, org_id, role, hash_hex, user_id;
  int64_t created_at_ms = 0;
  bool revoked = false;
};

struct State {
  std::map<std::string, Key> by_id;      // key id → key
  std::map<std::string, std::string> by_hash;  // hash hex → key id (revoked keys included)
  uint64_t last_seq = 0;
};

State apply(State s, const events::Envelope& e);

// SHA-256 hex of a presented secret.
std::string hash_secret(const std::string& secret);

// The live (not revoked) key whose secret hashes to `hash_hex`, or nullptr.
const Key* find_live(const State& s, const std::string& hash_hex);

}  // namespace enclave::api_keys
