// A fleet actor: records a fleet and all its members' creation in ONE atomic append, then spawns
// the member session actors and enqueues them for admission in index order (so a fleet is
// admitted FIFO by index). It serves the fleet's teardown and quits when every member is gone.
#pragma once

#include <caf/all.hpp>

#include "actors/context.h"
#include "events/fleet.h"

namespace enclave {

// A new fleet: send it msg::CreateFleet. A recovered fleet: pass its folded state and the number
// of its members still live (they are spawned by the engine with this actor as their fleet).
caf::actor spawn_fleet(caf::actor_system& sys, const Context* ctx, fleet::State initial,
                       size_t live_members);

}  // namespace enclave
