// A session's audit trail as the API shows it: its events up to the head, and whether the hash
// chain from the first event to the head verifies.
#pragma once

#include <string>

#include "events/api.pb.h"
#include "events/error.h"
#include "storage/event_log.h"

namespace enclave {

// `id` is the stream's 16-byte id. Reads the head first, then the events up to it, so appends
// racing this read do not look like tamper.
[[nodiscard]] Result<api::AuditTrail> audit_trail(const storage::EventLog& log,
                                                  const std::string& id);

}  // namespace enclave
