// Whether new work may start on storage grounds: the log writable, the data dir's free bytes
// above the floor, the org under its quota (events/policy/storage_gate.h decides; this gathers the
// figures). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "actors/engine_types.h"
#include "storage/event_log.h"

namespace enclave {

class StorageCheck {
 public:
  // `log` and `config` outlive this.
  StorageCheck(const storage::EventLog* log, const EngineConfig* config)
      : log_(log), config_(config) {}

  // Refusal of new work for `org` on storage grounds (storage_gate), or nullopt.
  [[nodiscard]] std::optional<Error> refusal(const std::string& org) const;

 private:
  // The data dir's free bytes, re-read (statvfs) at most every kFreeSampleMs: the storage gate
  // asks on every create and turn.
  static constexpr int64_t kFreeSampleMs = 250;
  std::optional<uint64_t> sampled_free_bytes() const;

  const storage::EventLog* log_;
  const EngineConfig* config_;
  mutable std::mutex free_mu_;
  mutable std::chrono::steady_clock::time_point free_at_{};
  mutable std::optional<uint64_t> free_bytes_;
};

}  // namespace enclave
