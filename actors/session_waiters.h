// Callers waiting for sessions to settle (`?wait=S`, issue 24). No thread waits: a waiter is a
// callback kept here and completed exactly once — by the commit that settles its session (the
// read model calls settle() after folding a batch), by its deadline (a timer calls expire()), or
// never, when cancelled because its caller went away. Bounded: add() refuses past `max_waiters`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "events/clock.h"

namespace enclave {

class SessionWaiters {
 public:
  // Runs once, outside any lock, on the thread that completed the waiter; `timed_out` says the
  // deadline came first. It must be quick and must not block.
  using Fire = std::function<void(bool timed_out)>;

  explicit SessionWaiters(size_t max_waiters = 100'000) : max_(max_waiters) {}

  // Registers a waiter for session `id` until `deadline_ms`. nullopt: too many waiters already.
  [[nodiscard]] std::optional<uint64_t> add(const std::string& id, TimeMs deadline_ms, Fire fn);
  // Completes every waiter of `id` (its session has settled).
  void settle(const std::string& id);
  // Completes one waiter now as settled, if it is still waiting (e.g. it settled before add).
  void settle_one(uint64_t token);
  // Completes, as timed out, every waiter whose deadline is at or before `now`.
  void expire(TimeMs now);
  // Drops a waiter without calling it (its caller is gone). False if it already completed.
  bool cancel(uint64_t token);

  // Whether anyone waits for `id` (cheap when nobody waits at all).
  bool waiting_for(const std::string& id) const;
  size_t size() const { return count_.load(std::memory_order_relaxed); }

 private:
  struct Waiter {
    std::string id;
    TimeMs deadline;
    Fire fn;
  };
  std::optional<Fire> take(uint64_t token);  // mu_ held

  const size_t max_;
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::unordered_multimap<std::string, uint64_t> by_session_;
  std::multimap<TimeMs, uint64_t> by_deadline_;
  std::atomic<size_t> count_{0};
};

}  // namespace enclave
