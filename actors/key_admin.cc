#include "actors/key_admin.h"

#include <openssl/rand.h>

#include <optional>

#include "events/api_keys.h"
#include "events/clock.h"
#include "events/ids.h"
#include "storage/event_log.h"

namespace enclave::keys {

namespace {

Result<api_keys::State> load(storage::EventLog& log) {
  auto events = log.read_stream(keys_stream_id());
  if (!events) return events.error();
  api_keys::State s;
  for (const auto& e : *events) s = api_keys::apply(std::move(s), e.envelope);
  return s;
}

// Hex of `bytes` random bytes; nullopt if the CSPRNG fails (never a predictable secret).
std::optional<std::string> random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return std::nullopt;
  return to_hex(raw);
}

Result<bool> append_key_event(storage::EventLog& log, uint64_t seq, events::Envelope e) {
  e.set_stream(keys_stream_id());
  e.set_seq(seq + 1);
  e.set_at_ms(system_clock()());
  e.set_org_id("_system");
  auto r = log.append({storage::Append{keys_stream_id(), seq, {std::move(e)}}});
  if (!r) return r.error();
  return true;
}

}  // namespace

Result<Minted> mint(const std::string& org, const std::string& role, const std::string& name,
                    bool e2b_format, const std::string& created_by) {
  if (!api_keys::valid_org(org))
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "org must be 1..64 characters of [A-Za-z0-9_-]", "org");
  if (!api_keys::valid_role(role))
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "role must be owner, member, viewer or metrics", "role");
  bool name_ok = name.size() <= 100;
  for (char c : name) name_ok = name_ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
  if (!name_ok)
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "name must be at most 100 characters, none of them control characters",
                      "name");
  auto secret = random_hex(e2b_format ? 20 : 24);
  auto key_id = random_hex(8);
  if (!secret || !key_id)
    return make_error(ErrorCode::kInternal, "internal", "the random number generator failed");
  Minted m;
  m.secret = (e2b_format ? "e2b_" : "enc_") + *secret;
  m.key_id = *key_id;
  auto* k = m.event.mutable_api_key_created();
  k->set_key_id(m.key_id);
  k->set_org_id(org);
  k->set_role(role);
  k->set_hash_hex(api_keys::hash_secret(m.secret));
  k->set_user_id("key:" + m.key_id);
  k->set_name(name);
  k->set_created_by(created_by);
  return m;
}

Result<std::string> create(const std::string& data_dir, const std::string& org,
                           const std::string& role, bool e2b_format) {
  auto minted = mint(org, role, "", e2b_format, "");
  if (!minted) return minted.error();
  auto log = storage::EventLog::open(data_dir, storage::OpenMode::kReadWrite);
  if (!log) return log.error();
  auto state = load(**log);
  if (!state) return state.error();
  auto r = append_key_event(**log, state->last_seq, std::move(minted->event));
  if (!r) return r.error();
  return minted->secret;
}

Result<std::vector<KeyInfo>> list(const std::string& data_dir) {
  auto log = storage::EventLog::open(data_dir, storage::OpenMode::kReadOnly);
  if (!log) return log.error();
  auto state = load(**log);
  if (!state) return state.error();
  std::vector<KeyInfo> out;
  for (const auto& [id, k] : state->by_id)
    out.push_back(KeyInfo{k.key_id, k.org_id, k.role, rfc3339(k.created_at_ms), k.revoked, k.name});
  return out;
}

Result<bool> revoke(const std::string& data_dir, const std::string& key_id) {
  auto log = storage::EventLog::open(data_dir, storage::OpenMode::kReadWrite);
  if (!log) return log.error();
  auto state = load(**log);
  if (!state) return state.error();
  auto it = state->by_id.find(key_id);
  if (it == state->by_id.end())
    return make_error(ErrorCode::kNotFound, "not_found", "no key " + key_id, "keyId");
  if (it->second.revoked) return false;
  events::Envelope e;
  e.mutable_api_key_revoked()->set_key_id(key_id);
  auto r = append_key_event(**log, state->last_seq, std::move(e));
  if (!r) return r.error();
  return true;
}

}  // namespace enclave::keys
