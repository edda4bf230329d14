// A sandbox's end: make runsc forget it, collect its last frames, report its exit, and remove
// every trace (container, cgroups, dirs); what could not be removed is reported, never hidden.
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <mutex>

#include "backends/gvisor/exit_report.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/runsc_locks.h"
#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/sandbox_util.h"
#include "backends/gvisor/workdir.h"

namespace enclave::backends::gvisor {

using namespace std::chrono_literals;

bool Sandbox::runsc_state_left() const {
  // runsc keeps <root>/<id>_sandbox:<id>.state (+ .lock) while it knows the container.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(host_->config.state_dir, ec)) {
    if (e.path().filename().string().rfind(container_id_, 0) == 0) return true;
  }
  return static_cast<bool>(ec);  // cannot tell: delete
}

void Sandbox::teardown(const std::string& start_error) {
  {
    std::lock_guard lock(mu_);
    accepting_ = false;  // a pool kernel going away can no longer be assigned
  }
  std::string detail;
  // Whatever state the sandbox is in, make runsc forget it and kill what is left (at the lowest
  // CPU priority: the session's exit is already reported, and live runs come first). `runsc run`
  // destroys its container when the workload exits by itself and then leaves no state file; only
  // then is `delete --force` (a ~10 ms runsc start before Exited) skipped. Any state file left,
  // a kill, or a start error: delete as always.
  CommandResult del;
  del.exit_code = 0;
  if (!exited_ || kill_requested_ || !start_error.empty() || runsc_state_left()) {
    del = run_command(runsc_argv({"delete", "--force", container_id_}), 10s, kBackgroundNice);
  }
  if (child_ > 0 && !exited_) {
    ::kill(child_, SIGKILL);
    int status = 0;
    wait_child(child_, &status, 0);
    on_child_exit(status);
  } else if (adopted_ && !exited_) {
    // Not our child: the delete above ended it; wait (bounded) for its pidfd to say so.
    signal_child(SIGKILL);
    for (int i = 0; i < 50 && !reap_child(); ++i) {
      pollfd p{pidfd_, POLLIN, 0};
      (void)::poll(&p, 1, 100);
    }
    if (!exited_) on_child_exit(SIGKILL);
  }
  // runsc gives up waiting for a busy sandbox to stop after its own deadline ("waiting sandbox
  // … stop: context deadline exceeded") although its kill is under way: ask once more, now that
  // the sandbox had that time to stop, before calling anything left.
  if (del.exit_code != 0 && runsc_state_left())
    del = run_command(runsc_argv({"delete", "--force", container_id_}), 10s, kBackgroundNice);
  // runsc killed mid-create (a pool kernel booting at shutdown) leaves its lock file behind.
  remove_stale_runsc_locks(host_->config.state_dir,
                           [this](const std::string& id) { return id == container_id_; });
  const auto ended = Clock::now();
  // Last frames (a result sent just before exit) and trace events.
  for (int i = 0; i < 4 && !channel_.closed(); ++i) {
    pollfd p{channel_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    std::vector<ChannelFrame> frames;
    channel_.on_readable(&frames);
    for (const auto& f : frames) handle_frame(f);
  }
  drain_trace();
  if (proxy_) {
    proxy_->stop();
    std::deque<Command> cmds;
    {
      std::lock_guard lock(mu_);
      cmds.swap(commands_);
    }
    for (auto& c : cmds) {
      if (c.kind == Command::kDenied) report_egress();
    }
  }
  if (turn_) finish_turn(!exited_ || kill_requested_, 0, ms_between(turn_->started, ended));
  if (!exit_reported_)
    emit(with_artifacts(report_exit(exit_facts(start_error, ended, exit_status_))));
  {
    std::lock_guard lock(mu_);
    workdir_ready_ = false;  // the files API no longer reaches it
  }

  close_fd(&stdout_fd_);
  close_fd(&stderr_fd_);
  close_fd(&stdin_fd_);
  close_fd(&pidfd_);
  channel_.close_all();
  trace_.close_all();
  // `delete --force` of an id runsc does not know succeeds: a failure is a real leftover.
  if (del.exit_code != 0) detail += "runsc delete failed: " + tail(del.output, 300) + "; ";
  if (auto left = cgroup_.remove(); !left.empty()) detail += "cgroups left: " + left + "; ";
  unmount_workdir(dir_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec) detail += "remove " + dir_ + ": " + ec.message() + "; ";
  reap_runsc_orphans();
  // Whatever is in `detail` is something left on the host: the teardown is incomplete, and the
  // backend retries it when the session asks again (kill()).
  {
    std::lock_guard lock(mu_);
    teardown_left_ = detail;
  }
  emit(Removed{detail.empty() ? "container " + container_id_ + " deleted, cgroups removed" : detail,
               detail, container_id_});
}

}  // namespace enclave::backends::gvisor
