// An org's secrets as a fold of SecretSet/SecretDeleted events (pure), and the checks of what a
// client asks for. A secret is injected by the egress proxy as one HTTP header on requests to its
// hosts; its value is sealed at rest (secret_crypto.h) and never leaves the control plane in any
// answer, log line, audit event, view or metric.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/api.pb.h"
#include "events/error.h"
#include "events/events.pb.h"

namespace enclave::secrets {

// Bounds of one secret and of a session's list of them.
inline constexpr size_t kMaxNameChars = 64;
inline constexpr size_t kMaxValueBytes = 8192;
inline constexpr size_t kMaxFormatBytes = 512;
inline constexpr size_t kMaxHosts = 16;
inline constexpr size_t kMaxPerSession = 16;
inline constexpr size_t kMaxPerOrg = 1000;

struct Secret {
  std::string org_id, name;
  std::vector<std::string> hosts;  // canonical "host:port" (see canonical_host_port)
  std::string header, format;
  std::string nonce, sealed;  // AES-256-GCM (secret_crypto.h)
  std::string created_by;
  int64_t created_at_ms = 0;
};

struct State {
  std::map<std::pair<std::string, std::string>, Secret> by_org_name;  // (org, name) → secret
  uint64_t last_seq = 0;
};

// Folds one event of the secrets stream; other events leave the state as it is.
State apply(State s, const events::Envelope& e);

// The org's secrets in name order; `name`'s secret of `org`, or nullptr.
std::vector<Secret> of_org(const State& s, const std::string& org);
const Secret* find(const State& s, const std::string& org, const std::string& name);

// A secret name: 1..64 characters of [A-Za-z0-9_.-].
bool valid_name(std::string_view name);

// "host:port" with the host lower-cased and an IP literal in its canonical form ("[::1]:443",
// "127.0.0.2:8443"), or nullopt when it is not a valid allow-list entry.
std::optional<std::string> canonical_host_port(const std::string& entry);

// A create request checked and normalised: hosts canonical, header and format defaulted
// ("Authorization", "Bearer {value}"). Errors name the field; no message ever quotes the value.
struct Checked {
  std::string name, value, header, format;
  std::vector<std::string> hosts;
};
[[nodiscard]] Result<Checked> check_create(const api::CreateSecretRequest& req);

// The header value sent upstream: `format` with each "{value}" replaced by `value`.
std::string render(const std::string& format, const std::string& value);

// The `secrets` of a create request checked for shape (≤ 16 names, each valid, no repeats) and
// copied into `spec`. Field names get `field_prefix` ("members[3].").
[[nodiscard]] std::optional<Error> copy_names(const api::CreateSessionRequest& req,
                                              events::SessionSpec* spec,
                                              const std::string& field_prefix);

// Whether a session may name its secrets: each exists in its org (`lookup`), and each of its
// hosts is on the session's egress allow-list. An unknown name (also another org's) is
// `400 unknown_secret` naming `secrets[i]`; a host off the list `400 secret_host_not_allowed`.
using Lookup = std::function<const Secret*(const std::string& name)>;
[[nodiscard]] std::optional<Error> check_session(const events::SessionSpec& spec,
                                                 const Lookup& lookup,
                                                 const std::string& field_prefix);

}  // namespace enclave::secrets
