// The simulator backend: deterministic sandboxes that follow the directives in their code
// (sim_script.h) on one worker thread, so the whole control plane can be tested — and 100k
// sessions benchmarked — without runsc. Events for one session are delivered in order.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace enclave::backends {

struct SimulatorConfig {
  int64_t tick_ms = 2;         // how long a workload or turn takes when its code does not say
  bool support_adopt = false;  // pretend sandboxes survive a control-plane restart (tests)
};

std::unique_ptr<Backend> make_simulator(SimulatorConfig config, Sink sink);

}  // namespace enclave::backends
