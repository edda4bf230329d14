#include "events/policy/secret_use_limiter.h"

namespace enclave::secrets {

std::optional<Use> UseLimiter::use(Use u, int64_t now_ms) {
  auto [it, fresh] = slots_.try_emplace({u.name, u.host, u.port});
  Slot& s = it->second;
  if (!fresh && now_ms - s.reported_ms < kWindowMs) {
    if (s.held < UINT32_MAX) ++s.held;
    s.last = std::move(u);
    return std::nullopt;
  }
  u.count = 1 + s.held;
  s.held = 0;
  s.reported_ms = now_ms;
  return u;
}

std::vector<Use> UseLimiter::flush() {
  std::vector<Use> out;
  for (auto& [key, s] : slots_) {
    if (s.held == 0) continue;
    Use u = s.last;
    u.count = s.held;
    s.held = 0;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace enclave::secrets
