// A session actor: one per live session stream. It turns commands (from the API, admission,
// the reaper and the backend) into events with session::decide, hands them to the commit queue,
// and only after the log acknowledges them starts side effects (launch, kill, replies). It
// quits when the session is torn down.
#pragma once

#include <caf/all.hpp>

#include "actors/context.h"
#include "events/session.h"

namespace enclave {

// `initial`: the state folded from the log (empty for a brand-new session, which then gets a
// msg::Create first). `fleet`: the fleet actor to notify when the session is gone (may be null).
caf::actor spawn_session(caf::actor_system& sys, const Context* ctx, session::State initial,
                         caf::actor fleet);

}  // namespace enclave
