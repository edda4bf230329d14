// `?wait=S` (issue 24) on top of the read model's SessionWaiters: what a wait answers (the
// Session with its result) and the timer that completes the waiters whose time is up.
#pragma once

#include <caf/all.hpp>
#include <cstdint>
#include <string>

#include "actors/engine_types.h"
#include "actors/read_model.h"
#include "events/clock.h"
#include "events/requests/session_request.h"  // kMaxWaitSeconds

namespace enclave {

// The session as the API shows it, plus its output and result in `result`.
api::Session session_with_result(const session::State& s);

// Waits for session `id` (already checked visible to the caller): `done` gets
// session_with_result once the session has settled (session::settled) or, as it stands, at
// `deadline_ms`; at once if it has settled already. Returns the waiter's token (for
// SessionWaiters::cancel), or 0 when `done` was already answered (settled, or refused: 503
// when too many callers wait).
uint64_t start_wait(ReadModel& model, const std::string& id, TimeMs deadline_ms,
                    Callback<api::Session> done);

// Completes expired waiters: every `tick_ms` of real time (0: only when told) it calls
// model->waiters().expire(clock()). A WaitTick message does the same at once.
struct WaitTick {
  bool self_scheduled = false;
};
caf::actor spawn_wait_timer(caf::actor_system& sys, ReadModel* model, Clock clock, int64_t tick_ms);

}  // namespace enclave

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(enclave::WaitTick)
