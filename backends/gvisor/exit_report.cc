#include "backends/gvisor/exit_report.h"

#include <algorithm>

#include "backends/gvisor/process.h"

namespace enclave::backends::gvisor {
namespace {

std::string tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

}  // namespace

Exited report_exit(ExitFacts f) {
  Exited ex;
  auto& e = ex.exit;
  const int code = exit_code_of(f.wait_status);
  if (!f.start_error.empty()) {
    e.set_exit_code(-1);
    e.set_detail("sandbox could not be created: " + f.start_error);
  } else if (!f.runner_connected && !f.kill_requested && f.usage.oom_kills == 0) {
    e.set_exit_code(-1);
    e.set_detail("sandbox did not start (runsc exit " + std::to_string(code) +
                 "): " + tail(f.err.kept, 2000));
  } else {
    e.set_exit_code(code);
  }
  if (f.usage.oom_kills > 0) {
    e.set_observed(events::KILL_REASON_MEMORY_EXCEEDED);
  } else if (f.killed_by_backstop) {
    e.set_observed(events::KILL_REASON_WALL_CLOCK_EXCEEDED);
  } else if (f.usage.pids_max_events > 0) {
    e.set_observed(events::KILL_REASON_PIDS_EXCEEDED);
  }
  if (f.kill_requested && e.detail().empty()) e.set_detail("killed: " + f.kill_reason);
  e.set_stdout_truncated(f.out.truncated());
  e.set_stderr_truncated(f.err.truncated());
  e.set_stdout_bytes(f.out.total);
  e.set_stderr_bytes(f.err.total);
  e.set_stdout(std::move(f.out.kept));
  e.set_stderr(std::move(f.err.kept));
  e.set_json(std::move(f.result_json));
  auto& u = ex.usage;
  u.set_wall_ms(f.wall_ms);
  u.set_cpu_ms((f.usage.cpu_ns - std::min(f.usage.cpu_ns, f.cpu_ns_at_assign)) / 1000000);
  u.set_peak_memory_bytes(f.usage.peak_memory_bytes);
  u.set_turn_ms_total(f.turn_ms_total);
  return ex;
}

}  // namespace enclave::backends::gvisor
