// Fleet members with `fromSession` ("fork N from one warm state, then run each member's code";
// docs/PAUSE.md): before the fleet is created, each source session named by its members is
// checked (visible to the caller — another org's is a 404 —, forkable, on a backend with
// checkpoints) and checkpointed once for all of them. Each such member's spec then becomes the
// source's (its language, limits, image, egress, env and secrets: what the image holds) with the
// member's code, which the member runs as its one turn before it ends (session_actor.cc).
#pragma once

#include <optional>
#include <vector>

#include "actors/engine_impl.h"
#include "actors/engine_types.h"
#include "events/session.h"

namespace enclave {

using MemberForks = std::vector<std::optional<session::ForkFrom>>;

// Calls `done` once (from any thread) with, per member, its fork lineage (nullopt for a member
// without fromSession), `members` rewritten for the forks; or the first error.
void take_fleet_fork_sources(
    EngineParts* d, const Principal& p, std::vector<events::SessionSpec> members,
    std::function<void(Result<std::vector<events::SessionSpec>>, MemberForks)> done);

}  // namespace enclave
