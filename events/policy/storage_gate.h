// Whether the control plane takes new work (a session, a fleet, a turn) given how its storage
// stands: the event log's writability, the data dir's free space and the org's stored bytes.
// Pure: the engine samples the figures (cheaply) and asks; the table is in
// tests/events/storage_gate_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "events/error.h"

namespace enclave::storage_gate {

struct Figures {
  bool log_writable = true;
  std::optional<uint64_t> free_bytes;  // the data dir's filesystem; nullopt: unknown
  uint64_t min_free_bytes = 0;         // the floor (--min-free-disk-mb); 0: none
  std::string org_id;
  uint64_t org_bytes = 0;        // what the org's streams store now
  uint64_t org_quota_bytes = 0;  // its quota (--org-storage-mb or its override); 0: none
};

// Seconds a client is told to wait (Retry-After) when the log cannot take writes.
constexpr int kLogRetryAfterSeconds = 5;

// nullopt: take the work. Otherwise the refusal, first match wins:
//   log unwritable            → 503 log_unavailable (Retry-After)
//   free < floor              → 507 insufficient_storage, naming both figures
//   org bytes ≥ org quota     → 429 quota_exceeded, naming the org's figure and its quota
// Work already taken (a running session's own events) is never refused here.
[[nodiscard]] std::optional<Error> check(const Figures& f);

}  // namespace enclave::storage_gate
