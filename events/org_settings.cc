#include "events/org_settings.h"

#include <algorithm>
#include <cctype>

namespace enclave::org_settings {

State apply(State s, const events::Envelope& e) {
  s.last_seq = e.seq();
  if (e.payload_case() != events::Envelope::kOrgSettingsSet) return s;
  const auto& o = e.org_settings_set();
  Settings v;
  v.weight = std::clamp<uint32_t>(o.weight(), 1, kMaxWeight);
  v.max_queued = std::min(o.max_queued(), kMaxQueued);
  v.max_live = std::min(o.max_live(), kMaxLive);
  if (valid_org(o.org_id())) s.by_org[o.org_id()] = v;
  return s;
}

Settings of(const State& s, const std::string& org) {
  auto it = s.by_org.find(org);
  return it == s.by_org.end() ? Settings{} : it->second;
}

Result<Settings> change(Settings current, std::optional<int64_t> weight,
                        std::optional<int64_t> max_queued, std::optional<int64_t> max_live) {
  if (weight) {
    if (*weight < 1 || *weight > kMaxWeight)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "--weight must be 1.." + std::to_string(kMaxWeight), "weight");
    current.weight = static_cast<uint32_t>(*weight);
  }
  if (max_queued) {
    if (*max_queued < 0 || *max_queued > kMaxQueued)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "--max-queued must be 0.." + std::to_string(kMaxQueued) + " (0: no limit)",
                        "maxQueued");
    current.max_queued = static_cast<uint32_t>(*max_queued);
  }
  if (max_live) {
    if (*max_live < 0 || *max_live > kMaxLive)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "--max-live must be 0.." + std::to_string(kMaxLive) + " (0: no limit)",
                        "maxLive");
    current.max_live = static_cast<uint32_t>(*max_live);
  }
  return current;
}

bool valid_org(const std::string& org) {
  if (org.empty() || org.size() > 64) return false;
  return std::all_of(org.begin(), org.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace enclave::org_settings
