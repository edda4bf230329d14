#include "http/log_api.h"

#include "events/codec/base64.h"
#include "events/ids.h"
#include "http/json_io.h"
#include "http/query.h"
#include "storage/merkle_store.h"

namespace enclave::http {

namespace {

Error no_key() {
  return make_error(ErrorCode::kNotFound, "signing_key_not_configured",
                    "this server has no signing key (--signing-key): it signs no tree heads");
}

std::string hex_list(const std::vector<std::string>& hashes) {
  std::string out = "[";
  for (size_t i = 0; i < hashes.size(); ++i) out += (i ? ",\"" : "\"") + to_hex(hashes[i]) + "\"";
  return out + "]";
}

Result<uint64_t> positive(const std::map<std::string, std::string>& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end())
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      std::string(name) + " is required", name);
  const auto& v = it->second;
  uint64_t n = 0;
  if (v.empty() || v.size() > 19)
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      std::string(name) + " must be a whole number ≥ 1", name);
  for (char c : v) {
    if (c < '0' || c > '9')
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        std::string(name) + " must be a whole number ≥ 1", name);
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0)
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      std::string(name) + " must be ≥ 1", name);
  return n;
}

}  // namespace

Result<std::string> log_public_key(const storage::SthService* sth) {
  if (!sth || !sth->public_key()) return no_key();
  return sth->public_key()->pem();
}

Result<std::string> log_sth(storage::SthService* sth) {
  if (!sth) return no_key();
  auto th = sth->current();
  if (!th) return th.error();
  return storage::sth_json(*th);
}

Result<std::string> log_consistency(const storage::SthService* sth, std::string_view query) {
  auto q = parse_query(query);
  if (!q) return q.error();
  auto first = positive(*q, "first");
  if (!first) return first.error();
  auto second = positive(*q, "second");
  if (!second) return second.error();
  if (!sth) return no_key();
  auto proof = sth->consistency(*first, *second);
  if (!proof) return proof.error();
  return "{\"proof\":" + hex_list(*proof) + "}";
}

Result<bool> wants_proof(std::string_view query) {
  auto q = parse_query(query);
  if (!q) return q.error();
  auto it = q->find("proof");
  if (it == q->end() || it->second == "false") return false;
  if (it->second == "true") return true;
  return make_error(ErrorCode::kInvalidArgument, "invalid_argument", "proof must be true or false",
                    "proof");
}

Result<std::string> audit_with_proofs(const Engine& engine, storage::SthService* sth,
                                      const Principal& p, const std::string& id) {
  auto trail = engine.get_audit(p, id);  // tenancy and the audit:read scope first
  if (!trail) return trail.error();
  if (!sth) return no_key();
  auto stream = from_hex_id(id);
  if (!stream) return make_error(ErrorCode::kNotFound, "not_found", "no such session");
  const uint64_t count = static_cast<uint64_t>(trail->events_size());
  // The STH must cover the stream's last event shown: its global seq is in its stored bytes.
  uint64_t min_size = 0;
  if (count) {
    auto last = engine.event_log().read_stream_bytes(*stream, count, count);
    events::Envelope e;
    if (!last || last->size() != 1 || !e.ParseFromString(last->front()))
      return make_error(ErrorCode::kInternal, "corrupt_event",
                        "the session's last event is unreadable");
    min_size = e.global_seq();
  }
  auto th = sth->current(min_size);
  if (!th) return th.error();
  auto proofs = sth->prove_stream(*stream, count, th->tree_size);
  if (!proofs) return proofs.error();
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < proofs->size() && i < count; ++i) {
    const auto& pr = (*proofs)[i];
    std::string ev = to_json(trail->events(static_cast<int>(i)));
    ev.pop_back();  // the closing brace: the proof's fields go inside the event
    body += (i ? "," : "") + ev + ",\"leafIndex\":" + std::to_string(pr.leaf_index) +
            ",\"inclusionProof\":" + hex_list(pr.path) + ",\"eventBytes\":\"" +
            base64_encode(pr.bytes) + "\"}";
  }
  body += "],\"chain\":" + to_json(trail->chain()) + ",\"sth\":" + storage::sth_json(*th) + "}";
  return body;
}

}  // namespace enclave::http
