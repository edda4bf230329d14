// A command's callback that is answered exactly once, even if the message carrying it is lost.
// A message sent to an actor that has just quit (e.g. a teardown racing the session's own end)
// is dropped by CAF together with the callback inside it; without this guard the HTTP request
// would never be answered. When the last copy of a guarded callback is destroyed uncalled, the
// guard calls it with `fallback()` (e.g. the committed view, or 409 session_not_running).
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "actors/engine_types.h"

namespace enclave {

template <typename T>
Callback<T> answered_once(Callback<T> done, std::function<Result<T>()> fallback) {
  struct Guard {
    Callback<T> done;
    std::function<Result<T>()> fallback;
    std::atomic<bool> called{false};
    ~Guard() {
      if (!called.exchange(true) && done) done(fallback());
    }
  };
  auto g = std::make_shared<Guard>();
  g->done = std::move(done);
  g->fallback = std::move(fallback);
  return [g](Result<T> r) {
    if (!g->called.exchange(true)) g->done(std::move(r));
  };
}

}  // namespace enclave
