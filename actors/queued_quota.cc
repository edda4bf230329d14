#include "actors/queued_quota.h"

namespace enclave {

bool QueuedQuota::limited(const std::string& org) const {
  auto it = limits_.find(org);
  return it != limits_.end() && it->second > 0;
}

std::optional<Error> QueuedQuota::reserve(const std::string& org, uint64_t n) {
  auto it = limits_.find(org);
  if (it == limits_.end() || it->second == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  // In-flight first, then the committed count: a create answered in between is then counted
  // twice (safe), never zero times.
  uint64_t in_flight = in_flight_[org];
  uint64_t queued = queued_now_(org);
  if (queued + in_flight + n > it->second)
    return make_error(ErrorCode::kQuotaExceeded, "quota_exceeded",
                      "org " + org + " may have at most " + std::to_string(it->second) +
                          " sessions queued (maxQueued); " + std::to_string(queued + in_flight) +
                          " are, this request adds " + std::to_string(n),
                      "maxQueued");
  in_flight_[org] += n;
  return std::nullopt;
}

void QueuedQuota::release(const std::string& org, uint64_t n) {
  std::lock_guard lock(mu_);
  auto it = in_flight_.find(org);
  if (it == in_flight_.end()) return;
  it->second = it->second > n ? it->second - n : 0;
}

}  // namespace enclave
