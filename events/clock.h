// Time as the engine sees it. Every decision takes `now` as an argument; only the edges read a
// clock, and tests inject a manual one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace enclave {

// Unix time in milliseconds.
using TimeMs = int64_t;

// A source of `now`. Must be thread-safe.
using Clock = std::function<TimeMs()>;

// The wall clock.
Clock system_clock();

// A clock that only moves when told to (tests).
class ManualClock {
 public:
  explicit ManualClock(TimeMs start = 1'700'000'000'000) : now_(start) {}
  TimeMs now() const { return now_.load(); }
  void advance(TimeMs ms) { now_ += ms; }
  Clock clock() {
    return [this] { return now(); };
  }

 private:
  std::atomic<TimeMs> now_;
};

// RFC 3339 UTC with milliseconds, e.g. "2026-11-23T11:32:23.123Z".
std::string rfc3339(TimeMs t);

}  // namespace enclave
