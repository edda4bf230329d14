// The admission actor: gates launches with an AdmissionQueue (ceiling = max-concurrency). It
// answers Enqueue with msg::Admitted or msg::Queued to the session, and on Release grants the
// next waiting sessions in FIFO order. None is ever dropped.
#pragma once

#include <caf/all.hpp>

#include "actors/context.h"

namespace enclave {

caf::actor spawn_admission(caf::actor_system& sys, uint32_t ceiling);

}  // namespace enclave
