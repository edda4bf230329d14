// Snapshots of folded states (pure). A snapshot is one more input to the same fold: loading one
// and applying the events after it gives exactly the state a full fold gives.
#pragma once

#include "events/events.pb.h"
#include "events/fleet.h"
#include "events/session.h"

namespace enclave::snapshot {

events::SessionSnapshot of(const session::State& s);
session::State session_from(const events::SessionSnapshot& p);
events::FleetSnapshot of(const fleet::State& f);
fleet::State fleet_from(const events::FleetSnapshot& p);

}  // namespace enclave::snapshot
