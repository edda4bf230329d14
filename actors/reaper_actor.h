// The reaper actor: holds each live session's next deadline (session::next_deadline) and, when
// the clock passes it, sends that session msg::Reap; the session decides (session::due_kill)
// whether a bound is really exceeded, so a stale deadline can never kill wrongly. Ticks come
// from a real-time timer (tick_ms > 0) or from Engine::reap_now (tests with a manual clock).
#pragma once

#include <caf/all.hpp>

#include "events/clock.h"

namespace enclave {

caf::actor spawn_reaper(caf::actor_system& sys, Clock clock, int64_t tick_ms);

}  // namespace enclave
