#include "events/policy/storage_gate.h"

namespace enclave::storage_gate {

namespace {

std::string mib(uint64_t bytes) {
  // One decimal below 10 MiB, so small figures (tests, tiny disks) still say something.
  if (bytes < (10ull << 20)) {
    uint64_t tenths = bytes * 10 / (1ull << 20);
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
  }
  return std::to_string(bytes >> 20) + " MiB";
}

}  // namespace

std::optional<Error> check(const Figures& f) {
  if (!f.log_writable) {
    auto e = make_error(ErrorCode::kUnavailable, "log_unavailable",
                        "the event log cannot take writes right now (see /v1/healthz); "
                        "nothing acknowledged is lost; retry later");
    e.retry_after_s = kLogRetryAfterSeconds;
    return e;
  }
  if (f.min_free_bytes > 0 && f.free_bytes && *f.free_bytes < f.min_free_bytes) {
    return make_error(ErrorCode::kInsufficientStorage, "insufficient_storage",
                      "the server's data disk has " + mib(*f.free_bytes) +
                          " free, below its floor of " + mib(f.min_free_bytes) +
                          " (--min-free-disk-mb); no new sessions or turns until there is room");
  }
  if (f.org_quota_bytes > 0 && f.org_bytes >= f.org_quota_bytes) {
    return make_error(ErrorCode::kQuotaExceeded, "quota_exceeded",
                      "org " + f.org_id + " stores " + mib(f.org_bytes) +
                          " of event log data, at or over its storage quota of " +
                          mib(f.org_quota_bytes) + " (--org-storage-mb)");
  }
  return std::nullopt;
}

}  // namespace enclave::storage_gate
