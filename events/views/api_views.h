// The API's views of the folded state (pure). Nothing appears here that the log does not hold,
// and no view ever carries a credential.
#pragma once

#include <string>

#include "events/api.pb.h"
#include "events/fleet.h"
#include "events/session.h"

namespace enclave::views {

api::Session session(const session::State& s);
api::SessionResult result(const session::State& s);
// `hash_hex`: SHA-256 of the event's stored bytes (computed by storage).
api::AuditEvent audit_event(const events::Envelope& e, const std::string& hash_hex);
// `members`: list every member (index, id, phase); false: counts and phase only.
api::Fleet fleet(const fleet::State& f, bool members = true);
api::ExecTurnResult turn_result(const events::ExecTurn& t);

// Bytes as valid UTF-8 (invalid sequences become U+FFFD), for JSON output.
std::string utf8(const std::string& bytes);

}  // namespace enclave::views
