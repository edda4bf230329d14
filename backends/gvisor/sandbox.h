// One runsc sandbox and the thread that supervises it from creation to removal. Batch sandboxes
// are bound to their session at once; interactive ones may start unbound (warm pool) and be
// assigned later. Every Sink call for a sandbox comes from its own thread, in order.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/gvisor/capped_stream.h"
#include "backends/gvisor/cgroup_v1.h"
#include "backends/gvisor/egress_proxy.h"
#include "backends/gvisor/exit_report.h"
#include "backends/gvisor/gvisor_backend.h"
#include "backends/gvisor/result_channel.h"
#include "backends/gvisor/trace_sink.h"
#include "backends/live_output_cap.h"
#include "events/codec/sha256.h"

namespace enclave::backends::gvisor {

// Shared, read-only facts every sandbox needs.
struct HostLayout {
  GvisorConfig config;
  std::string rootfs;        // shared minimal rootfs
  std::string runtime_dir;   // runner sources (bind-mounted at /opt/enclave)
  std::string sessions_dir;  // per-container dirs live here
  // Secrets (egress_ca.h): the server's egress CA, the upstream verifier, and the trust bundle
  // a sandbox with secrets gets (the system's CAs plus ours). Unset, with tls_error saying why,
  // when they could not be made: then no secret is injected into HTTPS.
  std::shared_ptr<EgressCa> ca;
  std::shared_ptr<SSL_CTX> upstream_tls;
  std::string trust_bundle;
  std::string tls_error;
};

class Sandbox {
 public:
  using Finished = std::function<void(const std::string& container_id)>;

  // `spec` is the creation spec (a pool kernel gets the default limits); `session_id` empty for
  // an unassigned pool kernel.
  Sandbox(std::shared_ptr<const HostLayout> host, std::string container_id,
          events::SessionSpec spec, std::string session_id, Sink sink, Finished finished);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  void start_thread();
  void join();

  const std::string& container_id() const { return container_id_; }
  // The built image it runs ("sha256:…"), or "" for the default image.
  std::string image_digest() const;
  // Whether this idle pool kernel can take `spec` (limits that cannot change after creation).
  bool can_assign(const events::SessionSpec& spec) const;
  // Binds an unassigned kernel to a session; its limits are applied and setup code runs.
  // Returns false if the sandbox is already gone (the caller then starts a cold one).
  bool assign(const std::string& session_id, const events::SessionSpec& spec);
  void exec_turn(uint32_t turn, std::string code, int64_t timeout_ms);
  void kill(std::string reason);
  // Before start_thread(): the sandbox is restored from the checkpoint image in `image_dir`
  // (`runsc restore`) instead of booted; its kernel reconnects and reports Started. The image
  // must already have been checked (size, sha256) by the caller.
  void set_restore(std::string image_dir, std::string sha256, uint64_t max_bytes) {
    restore_image_ = std::move(image_dir);
    restore_sha256_ = std::move(sha256);
    restore_max_bytes_ = max_bytes;
  }
  // Checkpoints an idle interactive kernel into `image_dir` (sandbox_checkpoint.cc) and reports
  // Checkpointed. `leave_running` false: the sandbox is then gone — `detached` runs first (the
  // backend forgets the session, which may be restored at once) and nothing more is reported.
  // true: the same container is restored in place and runs on.
  void checkpoint(std::string image_dir, bool leave_running);
  // Before start_thread(), instead of a launch: re-attaches to this container, left running by
  // a previous enclaved that was killed (sandbox_adopt.cc). Checks what it finds on the host
  // (runsc's state, the sandbox's process, its stdio FIFOs), opens them and listens for a new
  // result channel; the thread then asks the kernel to reconnect (frame C) and kills the
  // sandbox if it does not answer in time. "" or why it cannot be adopted (nothing was changed
  // on the host then; the caller lets cleanup_orphans remove it).
  [[nodiscard]] std::string prepare_adoption();
  void set_on_detached(std::function<void(const std::string& container_id)> f) {
    on_detached_ = std::move(f);
  }
  bool finished() const;
  // The secrets its egress proxy injects (before start_thread; allow_list sessions only).
  void set_secrets(std::vector<SecretBinding> bindings, SecretResolver resolve) {
    secrets_ = std::move(bindings);
    resolve_secret_ = std::move(resolve);
  }
  // The host dir that is the sandbox's /home/user while it is mounted, else "" (issue 20).
  std::string workdir() const;
  // What the teardown could not remove ("" if everything went, or not torn down yet).
  std::string teardown_left() const {
    std::lock_guard lock(mu_);
    return teardown_left_;
  }

 private:
  struct Command {
    enum Kind { kAssign, kTurn, kKill, kDenied, kCheckpoint } kind;
    events::SessionSpec spec;
    uint32_t turn = 0;
    std::string text;  // turn code / kill reason / denied host (turn = port) / image dir
    int64_t timeout_ms = 0;
  };
  using Clock = std::chrono::steady_clock;

  void run();
  std::string prepare_and_spawn();
  // Starts `runsc run` (`image` empty) or `runsc restore` from `image`, with fresh stdio pipes.
  std::string spawn_runsc(const std::string& image);
  // An interactive sandbox's stdio as named FIFOs in its dir (sandbox_adopt.cc): the child holds
  // each read-write, so none sees EOF or EPIPE when enclaved dies, and a restarted enclaved
  // reopens them by name. Sets the three fds to pass (`child`) and ours.
  std::string make_stdio_fifos(int child[3]);
  // The sandbox's host process: our `runsc run` child, or an adopted sandbox's process (not our
  // child: watched through its pidfd only).
  void signal_child(int sig);
  bool reap_child();  // true (exited_ set) once it is gone; never blocks
  // Checkpoint steps (sandbox_checkpoint.cc): ask the kernel to close its channel, then
  // checkpoint once it has; restore in place for a snapshot.
  void begin_checkpoint(const std::string& image_dir, bool leave_running);
  void do_checkpoint();
  void fail_checkpoint(const std::string& why);
  std::string restore_in_place(const std::string& image_dir);
  void loop();
  void handle_commands();
  void handle_frame(const ChannelFrame& frame);
  void add_rich_result(const std::string& payload);  // 'M' frame of the running turn
  void report_denied(ConnectAttempt attempt);
  void report_egress();  // reports the proxy's verdicts queued so far (allowed or refused)
  void report_early_exit(const std::string& status);
  void drain_trace();  // reports what the trace sockets hold now, without waiting
  ExitFacts exit_facts(const std::string& start_error, Clock::time_point ended, int wait_status);
  void read_stream(int* fd, CappedStream* stream, const char* name);
  // Forwards live output through the cap (live_): never more than the stored cap per turn
  // (interactive) or per session (batch), whatever the sandbox writes or forges.
  void emit_live(const std::string& stream, const std::string& data);
  // The cgroup's CPU since the kernel was ready (interactive), in ms; 0 before.
  uint64_t cpu_ms_since_ready() const;
  void sample_cpu();
  void request_kill(const std::string& reason);
  void on_child_exit(int status);
  void teardown(const std::string& start_error);
  bool runsc_state_left() const;
  void emit(Event event);
  Exited with_artifacts(Exited ex);  // a batch run's artifacts added (collected now)
  void queue_stdin(char kind, uint32_t turn, const std::string& payload);
  void flush_stdin();
  // `interrupted`: a timed-out turn that stopped when interrupted (the kernel lives).
  void finish_turn(bool timed_out, int exit_code, uint64_t duration_ms, bool interrupted = false);
  std::vector<std::string> runsc_argv(std::initializer_list<std::string> tail) const;

  std::shared_ptr<const HostLayout> host_;
  const std::string container_id_;
  std::string restore_image_;  // set: restore from this image instead of booting
  std::string restore_sha256_;
  uint64_t restore_max_bytes_ = 0;
  std::function<void(const std::string&)> on_detached_;
  bool detached_ = false;  // paused away: nothing more is reported (guarded by mu_)
  struct PendingCheckpoint {
    std::string image_dir;
    bool leave_running = false;
    Clock::time_point requested, deadline;
    bool restoring = false;  // leave_running: restored in place, waiting for the kernel's S
    Checkpointed result;
  };
  std::optional<PendingCheckpoint> ckpt_;
  // The session's mode. A pool kernel starts interactive; assigning it a batch session turns it
  // into that one-shot (set on the loop thread only).
  bool interactive_;
  events::SessionSpec create_spec_;  // what the sandbox was created with
  Sink sink_;
  Finished finished_cb_;
  std::thread thread_;

  // Shared with callers.
  mutable std::mutex mu_;
  std::deque<Command> commands_;
  std::deque<ConnectAttempt> egress_reports_;  // the proxy's verdicts, reported by the loop
  std::deque<secrets::Use> secret_uses_;       // the proxy's injections (rate-limited)
  std::string session_id_;                     // empty until assigned
  bool done_ = false;                          // thread finished teardown
  bool accepting_ = true;                      // false once the sandbox is going away
  int wake_fd_ = -1;                           // eventfd
  std::string teardown_left_;                  // set by teardown(): what could not be removed
  bool workdir_ready_ = false;                 // /home/user is mounted (until the teardown)

  // Thread-only state.
  std::string dir_;
  Cgroup cgroup_;
  TraceSink trace_;
  ResultChannel channel_;
  std::unique_ptr<EgressProxy> proxy_;  // allow_list sessions only
  std::vector<SecretBinding> secrets_;  // set before the thread starts
  SecretResolver resolve_secret_;
  events::SessionSpec spec_;  // the session's spec once assigned
  pid_t child_ = -1;
  int pidfd_ = -1;
  // Adopted after a restart: pidfd_ watches the sandbox's process (child_ stays -1), and until
  // the kernel answers S on its new channel, deadline_ is the time it has to.
  bool adopted_ = false;
  bool reattaching_ = false;
  int stdin_fd_ = -1, stdout_fd_ = -1, stderr_fd_ = -1;
  std::string stdin_pending_;
  bool close_stdin_when_flushed_ = false;
  CappedStream out_, err_;
  LiveOutputCap live_;
  std::string result_json_;
  Clock::time_point spawned_at_{}, assigned_at_{};
  std::optional<Clock::time_point> deadline_;  // batch backstop / setup backstop
  bool started_reported_ = false;
  // Spawned as an unassigned pool kernel: its runsc processes run at kBackgroundNice until
  // assignment renices them to 0, as a cold-started sandbox runs (sandbox thread only).
  bool background_ = false;
  bool runner_connected_ = false;  // the runner reached the channel: the sandbox did start
  bool exited_ = false;
  int exit_status_ = 0;
  bool kill_requested_ = false;
  Clock::time_point kill_escalate_at_{};
  bool escalated_ = false;
  std::string kill_reason_;
  // Interactive turn in flight.
  struct Turn {
    uint32_t turn = 0;
    std::string code_sha256;
    Clock::time_point started;
    Clock::time_point deadline;  // the timeout; once interrupted, the end of the grace period
    bool interrupted = false;    // SIGINT sent at the timeout
    std::string out, err, json;
    std::vector<events::RichResult> results;  // 'M' frames, bounded (count, bytes)
    uint64_t results_bytes = 0;
  };
  std::optional<Turn> turn_;
  bool kernel_broken_ = false;  // a turn ignored its interrupt; only kill() remains
  uint64_t turn_ms_total_ = 0;
  uint64_t cpu_ns_at_assign_ = 0;
  // CPU meter of an interactive session (issue 16): from the kernel's 'S' (setup done) on,
  // sampled on a timer and at each turn's end. Frames never feed it.
  bool cpu_metering_ = false;
  uint64_t cpu_ns_at_ready_ = 0;
  uint64_t cpu_ms_sent_ = 0;
  Clock::time_point next_cpu_sample_{};
  int denied_reported_ = 0;
  // A one-shot's runner sends 'X' (its exit status) after flushing its output, just before it
  // exits: Exited is reported then, not after gVisor has shut the sandbox down (~20 ms later).
  // The sandbox must then exit within kExitGrace or it is killed.
  bool exit_reported_ = false;
  Clock::time_point exit_grace_until_{};
};

// The exec turns' code hash (events/codec/sha256.h).
using enclave::sha256_hex;

// How a language's runner starts inside the sandbox: interpreter argv, the runner's file under
// kRuntimeMount, and the batch code's file name in the io dir.
struct RunnerCommand {
  std::vector<std::string> interpreter;
  std::string script;
  std::string code_file;
};
RunnerCommand runner_for(const std::string& language);

}  // namespace enclave::backends::gvisor
