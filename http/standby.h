// What a replica that does not lead answers (--ha, docs/HA.md): GET /v1/healthz says so (role,
// epoch, the leader's address, replication lag); every other request is redirected to the
// leader with 307 (method and body kept by the client), or refused with 503 no_leader (and
// Retry-After) while no live leader is known, e.g. during a takeover.
#pragma once

#include <cstdint>
#include <string>

#include "http/request.h"

namespace enclave::http {

struct ReplicaStatus {
  std::string role = "standby";  // leader | standby | stopped
  uint64_t epoch = 0;            // the lease epoch this replica last saw or holds
  std::string leader;            // the leader's base URL, "" unknown
  uint64_t lag_events = 0;       // events committed to the store and not yet in the local copy
};

// The fields /v1/healthz adds for a replica: "role":…,"epoch":…,"leader":…,"lagEvents":…
std::string replica_fields(const ReplicaStatus& s);

// The answer of a replica that does not lead to `req`.
Response standby_answer(const Request& req, const ReplicaStatus& s);

}  // namespace enclave::http
