#include "actors/audit_trail.h"

#include "events/ids.h"
#include "events/views/api_views.h"
#include "storage/verify.h"

namespace enclave {

Result<api::AuditTrail> audit_trail(const storage::EventLog& log, const std::string& id) {
  // The head first, then the events up to it: appends racing this read do not look like tamper.
  auto head = log.head(id).value_or(storage::StreamHead{});
  auto events = log.read_stream(id, 1, head.seq);
  if (!events) return events.error();
  api::AuditTrail out;
  for (const auto& e : *events) *out.add_events() = views::audit_event(e.envelope, to_hex(e.hash));
  auto check = storage::verify_chain(*events, head);
  auto* chain = out.mutable_chain();
  chain->set_verified(check.ok);
  chain->set_events(static_cast<uint32_t>(events->size()));
  chain->set_head_seq(static_cast<uint32_t>(head.seq));
  chain->set_head_hash(to_hex(head.hash));
  chain->set_problem(check.problem);
  return out;
}

}  // namespace enclave
