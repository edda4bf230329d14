// The admission actor: gates launches with an AdmissionQueue (ceiling = max-concurrency, one
// FIFO per org, orgs round-robin by `limits`; orgs not named get OrgLimits{}). It answers
// Enqueue with msg::Admitted or msg::Queued to the session, and on Release grants the next
// waiting sessions. None is ever dropped.
#pragma once

#include <caf/all.hpp>
#include <map>
#include <string>

#include "actors/admission.h"
#include "actors/context.h"

namespace enclave {

caf::actor spawn_admission(caf::actor_system& sys, uint32_t ceiling,
                           std::map<std::string, OrgLimits> limits = {});

}  // namespace enclave
