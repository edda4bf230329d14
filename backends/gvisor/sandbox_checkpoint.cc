// Checkpointing an interactive sandbox (pause, fork, server shutdown), in order:
//   1. the kernel is idle (no turn, set up, not being killed) — else an error value;
//   2. it is asked (stdin frame P) to close its result channel, because gVisor cannot save a
//      connected host socket; it answers P on the channel first;
//   3. `runsc checkpoint --image-path DIR` (which stops the sandbox); the image is measured;
//   4. pause: the backend forgets the session (on_detached_) and Checkpointed is the last event;
//      snapshot: the same container is restored in place from the image and, once its kernel
//      reconnected (frame C → S), Checkpointed{running} is reported and turns go on.
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include "backends/gvisor/checkpoint_image.h"
#include "backends/gvisor/process.h"
#include "backends/gvisor/sandbox.h"
#include "backends/gvisor/sandbox_util.h"
#include "backends/gvisor/workdir.h"

namespace enclave::backends::gvisor {

using namespace std::chrono_literals;

namespace {
constexpr auto kKernelAnswer = 10s;         // the idle kernel answers P (or S after a restore)
constexpr auto kCheckpointRun = 60s;        // `runsc checkpoint` itself
constexpr auto kStopAfterCheckpoint = 10s;  // `runsc run` exits once its sandbox was saved
// What a checkpoint image may weigh: the sandbox's memory bound plus the sentry's own state.
constexpr uint64_t kImageOverheadBytes = 256ull << 20;
}  // namespace

void Sandbox::fail_checkpoint(const std::string& why) {
  Checkpointed failed;
  if (ckpt_) failed.image_dir = ckpt_->image_dir;
  failed.error = why;
  ckpt_.reset();
  emit(std::move(failed));
}

void Sandbox::begin_checkpoint(const std::string& image_dir, bool leave_running) {
  if (ckpt_) return fail_checkpoint("a checkpoint of this sandbox is already under way");
  if (!interactive_ || !started_reported_ || turn_ || exited_ || kill_requested_ ||
      kernel_broken_ || !channel_.connected())
    return fail_checkpoint("the sandbox's kernel is not idle");
  if (const auto& lang = spec_.language(); !lang.empty() && lang != "python")
    return fail_checkpoint("a " + lang +
                           " kernel cannot be checkpointed yet: only Python kernels close and "
                           "reopen their channel (docs/PAUSE.md)");
  if (proxy_ && proxy_->ever_connected())  // refused before trying: a failed save loses it
    return fail_checkpoint(
        "this sandbox has connected through its egress proxy, and gVisor cannot checkpoint a "
        "sandbox that ever had a host socket connected (docs/PAUSE.md)");
  PendingCheckpoint p;
  p.image_dir = image_dir;
  p.leave_running = leave_running;
  p.requested = Clock::now();
  p.deadline = p.requested + kKernelAnswer;
  ckpt_ = std::move(p);
  queue_stdin('P', 0, "");
}

void Sandbox::do_checkpoint() {
  auto& c = *ckpt_;
  channel_.close_all();  // the kernel closed its end; a restore reconnects to a new listener
  std::error_code ec;
  std::filesystem::remove_all(c.image_dir, ec);
  std::filesystem::create_directories(c.image_dir, ec);
  if (ec) return fail_checkpoint("create " + c.image_dir + ": " + ec.message());
  ::chmod(c.image_dir.c_str(), 0700);
  auto r = run_command(runsc_argv({"checkpoint", "--image-path=" + c.image_dir, container_id_}),
                       kCheckpointRun);
  c.result.duration_ms = ms_between(c.requested, Clock::now());
  if (r.exit_code != 0) {
    const std::string why = "runsc checkpoint failed: " + tail(r.output, 300);
    fail_checkpoint(why);
    request_kill(why);  // gVisor stops a sandbox whose save failed; make sure it is gone
    return;
  }
  const uint64_t memory_bytes = static_cast<uint64_t>(std::max(spec_.limits().memory_mb(), 256))
                                << 20;
  auto facts = measure_image(c.image_dir, memory_bytes + kImageOverheadBytes);
  if (!facts.error.empty()) {
    fail_checkpoint(facts.error);
    request_kill("checkpoint image unusable");
    return;
  }
  c.result.image_dir = c.image_dir;
  c.result.bytes = facts.bytes;
  c.result.sha256 = facts.sha256;
  // The working directory (/home/user) is a host tmpfs, not in gVisor's image: its files go
  // beside it, and a restore puts them back before runsc reads the image (sandbox.cc).
  if (auto e = save_workdir(dir_, c.image_dir); !e.empty()) {
    fail_checkpoint(e);
    request_kill("checkpoint: " + e);
    return;
  }

  // `runsc run` exits once its sandbox was saved.
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kStopAfterCheckpoint).count()));
    reap_child();
  }
  if (!c.leave_running) {
    // Paused: the session has no sandbox now. The backend forgets it first (so a restore may
    // start at once), then this is its last event; the teardown that follows reports nothing.
    auto done = std::move(c.result);
    ckpt_.reset();
    if (on_detached_) on_detached_(container_id_);
    emit(std::move(done));
    {
      std::lock_guard lock(mu_);
      detached_ = true;
      accepting_ = false;
    }
    kill_requested_ = true;  // the loop ends with the exit; teardown deletes what runsc kept
    kill_reason_ = "paused";
    return;
  }
  if (auto e = restore_in_place(c.image_dir); !e.empty()) {
    fail_checkpoint("restore after the snapshot failed: " + e);
    request_kill("restore after snapshot failed");
    return;
  }
  c.restoring = true;
  c.deadline = Clock::now() + kKernelAnswer;
}

// The same container id, cgroup and io dir; new stdio pipes, a new channel listener, and the
// kernel asked to reconnect.
std::string Sandbox::restore_in_place(const std::string& image_dir) {
  if (!exited_) {
    signal_child(SIGKILL);
    for (int i = 0; i < 100 && !reap_child(); ++i) {
      pollfd p{pidfd_, POLLIN, 0};
      (void)::poll(&p, 1, 100);
    }
    if (!exited_) on_child_exit(SIGKILL);  // given up waiting: runsc delete --force follows
  }
  close_fd(&stdout_fd_);
  close_fd(&stderr_fd_);
  close_fd(&stdin_fd_);
  stdin_pending_.clear();
  (void)run_command(runsc_argv({"delete", "--force", container_id_}), 10s);
  const uint64_t max_frame =
      std::max(host_->config.output_cap_bytes, host_->config.result_cap_bytes) + 64;
  if (auto e = channel_.listen(dir_ + "/io/channel.sock", max_frame); !e.empty()) return e;
  exited_ = false;
  exit_status_ = 0;
  if (auto e = spawn_runsc(image_dir); !e.empty()) return e;
  queue_stdin('C', 0, "");
  return "";
}

}  // namespace enclave::backends::gvisor
