// How a finished sandbox is reported: a pure function from what the supervisor observed to the
// Exited event (exit code, observed quota, output, result, usage).
#pragma once

#include <cstdint>
#include <string>

#include "backends/backend.h"
#include "backends/gvisor/capped_stream.h"
#include "backends/gvisor/cgroup_v1.h"

namespace enclave::backends::gvisor {

struct ExitFacts {
  std::string start_error;          // non-empty: the sandbox could not be created
  bool runner_connected = false;    // our runner reached its channel: the sandbox did come up
  bool kill_requested = false;      // kill() or our wall clock backstop
  bool killed_by_backstop = false;  // limits.wall_clock_seconds + grace ran out
  std::string kill_reason;
  int wait_status = 0;            // waitpid status of `runsc run`
  CgroupUsage usage;              // read before the cgroups are removed
  uint64_t cpu_ns_at_assign = 0;  // a pool kernel's CPU before it became the session's
  CappedStream out, err;
  std::string result_json;  // last enclave.result(), "" if none
  uint64_t wall_ms = 0;
  uint64_t turn_ms_total = 0;
};

// A sandbox that never came up is exit_code -1 with a detail; an OOM kill is observed as
// MEMORY_EXCEEDED whatever else happened; the backstop as WALL_CLOCK_EXCEEDED; a hit host pids
// backstop as PIDS_EXCEEDED.
Exited report_exit(ExitFacts facts);

}  // namespace enclave::backends::gvisor
