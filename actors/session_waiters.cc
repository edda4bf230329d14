#include "actors/session_waiters.h"

#include <vector>

namespace enclave {

std::optional<uint64_t> SessionWaiters::add(const std::string& id, TimeMs deadline_ms, Fire fn) {
  std::lock_guard lock(mu_);
  if (waiters_.size() >= max_) return std::nullopt;
  uint64_t token = next_++;
  waiters_.emplace(token, Waiter{id, deadline_ms, std::move(fn)});
  by_session_.emplace(id, token);
  by_deadline_.emplace(deadline_ms, token);
  count_.store(waiters_.size(), std::memory_order_relaxed);
  return token;
}

std::optional<SessionWaiters::Fire> SessionWaiters::take(uint64_t token) {
  auto it = waiters_.find(token);
  if (it == waiters_.end()) return std::nullopt;
  auto range = by_session_.equal_range(it->second.id);
  for (auto r = range.first; r != range.second; ++r)
    if (r->second == token) {
      by_session_.erase(r);
      break;
    }
  auto dr = by_deadline_.equal_range(it->second.deadline);
  for (auto r = dr.first; r != dr.second; ++r)
    if (r->second == token) {
      by_deadline_.erase(r);
      break;
    }
  Fire fn = std::move(it->second.fn);
  waiters_.erase(it);
  count_.store(waiters_.size(), std::memory_order_relaxed);
  return fn;
}

void SessionWaiters::settle(const std::string& id) {
  std::vector<Fire> due;
  {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> tokens;
    auto range = by_session_.equal_range(id);
    for (auto r = range.first; r != range.second; ++r) tokens.push_back(r->second);
    for (uint64_t t : tokens)
      if (auto fn = take(t)) due.push_back(std::move(*fn));
  }
  for (auto& fn : due) fn(false);
}

void SessionWaiters::settle_one(uint64_t token) {
  std::optional<Fire> fn;
  {
    std::lock_guard lock(mu_);
    fn = take(token);
  }
  if (fn) (*fn)(false);
}

void SessionWaiters::expire(TimeMs now) {
  std::vector<Fire> due;
  {
    std::lock_guard lock(mu_);
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now)
      if (auto fn = take(by_deadline_.begin()->second)) due.push_back(std::move(*fn));
  }
  for (auto& fn : due) fn(true);
}

bool SessionWaiters::cancel(uint64_t token) {
  std::optional<Fire> fn;
  {
    std::lock_guard lock(mu_);
    fn = take(token);
  }
  return fn.has_value();  // destroyed here, outside the lock, uncalled
}

bool SessionWaiters::waiting_for(const std::string& id) const {
  if (size() == 0) return false;
  std::lock_guard lock(mu_);
  return by_session_.count(id) > 0;
}

}  // namespace enclave
