#include "actors/storage_check.h"

#include "events/policy/storage_gate.h"

namespace enclave {

std::optional<uint64_t> StorageCheck::sampled_free_bytes() const {
  std::lock_guard lock(free_mu_);
  auto now = std::chrono::steady_clock::now();
  if (free_at_ == std::chrono::steady_clock::time_point{} ||
      now - free_at_ >= std::chrono::milliseconds(kFreeSampleMs)) {
    free_bytes_ = log_->free_bytes();
    free_at_ = now;
  }
  return free_bytes_;
}

std::optional<Error> StorageCheck::refusal(const std::string& org) const {
  storage_gate::Figures f;
  f.log_writable = log_->writable();
  f.free_bytes = sampled_free_bytes();
  f.min_free_bytes = config_->min_free_disk_mb << 20;
  f.org_id = org;
  f.org_bytes = log_->org_bytes(org);
  auto quota = config_->org_storage_mb_for.find(org);
  f.org_quota_bytes =
      (quota == config_->org_storage_mb_for.end() ? config_->org_storage_mb : quota->second) << 20;
  return storage_gate::check(f);
}

}  // namespace enclave
