// The per-org limit on queued work (`max_queued`): sessions created but not yet admitted. A
// create that would take the org past its limit is refused before anything is recorded.
//
// The count is the read model's queued sessions of the org plus the creates in flight (checked,
// not yet answered). A create is answered only after the read model folded its events, and its
// reservation is dropped only then, so the sum never undercounts: concurrent creates cannot
// together pass the limit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "events/error.h"

namespace enclave {

class QueuedQuota {
 public:
  // org → max_queued (0 or absent: no limit). `queued_now(org)` reads the committed count.
  QueuedQuota(std::map<std::string, uint32_t> limits,
              std::function<uint64_t(const std::string&)> queued_now)
      : limits_(std::move(limits)), queued_now_(std::move(queued_now)) {}

  // Reserves room for `n` more sessions of `org`, or returns 429 quota_exceeded naming the
  // limit. Call release(org, n) once the create is answered (either way) — only if this
  // returned no error and the org has a limit (`limited(org)`).
  [[nodiscard]] std::optional<Error> reserve(const std::string& org, uint64_t n);
  void release(const std::string& org, uint64_t n);
  bool limited(const std::string& org) const;

 private:
  const std::map<std::string, uint32_t> limits_;
  const std::function<uint64_t(const std::string&)> queued_now_;
  std::mutex mu_;
  std::unordered_map<std::string, uint64_t> in_flight_;
};

}  // namespace enclave
