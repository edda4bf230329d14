#include "actors/lifecycle_log.h"

#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave {

std::string session_lifecycle_line(const events::Envelope& e, const session::State& after) {
  auto audit = views::audit_event(e, "");
  std::string fleet = after.spec.fleet_id().empty() ? "-" : to_hex(after.spec.fleet_id());
  return "session=" + to_hex(e.stream()) + " fleet=" + fleet + " org=" + after.org_id +
         " seq=" + std::to_string(e.seq()) + " event=" + audit.type() +
         " phase=" + session::phase_name(after.phase) + ": " + audit.message();
}

std::string fleet_lifecycle_line(const events::Envelope& e, const fleet::State& after) {
  auto audit = views::audit_event(e, "");
  return "fleet=" + to_hex(e.stream()) + " org=" + after.org_id +
         " seq=" + std::to_string(e.seq()) + " event=" + audit.type() +
         " members=" + std::to_string(after.member_ids.size());
}

}  // namespace enclave
