// The one interface every sandbox backend implements (simulator, gvisor, kubernetes). Nothing
// outside backends/ knows how a sandbox is made. Calls return at once; what happens later comes
// back through the Sink, from any thread, in order per session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "events/events.pb.h"

namespace enclave::backends {

// A secret the egress proxy injects for a session (secrets issue): for which hosts, as which
// header. Its value is not here: the proxy asks the resolver at each request, so a deleted
// secret stops being injected at once.
struct SecretBinding {
  std::string name;
  std::vector<std::string> hosts;  // canonical "host:port" (events/secrets.h)
  std::string header;
};
// The header value of the session's secret `name` now (its format applied), or nullopt once the
// secret is gone. Called from backend threads; must be quick and thread-safe.
using SecretResolver = std::function<std::optional<std::string>(const std::string& name)>;

// What a backend needs to start one sandbox.
struct LaunchSpec {
  LaunchSpec(std::string id, events::SessionSpec s, std::string org = "")
      : session_id(std::move(id)), spec(std::move(s)), org_id(std::move(org)) {}
  std::string session_id;  // 32-char lowercase hex; also the container id
  events::SessionSpec spec;
  std::string org_id;  // the owning org (the kubernetes backend keeps each org in its namespace)
  // The secrets the session names that exist at launch, and how to read their values. Backends
  // that cannot inject secrets at an egress proxy of their own ignore them (the workload then
  // never gets them: nothing is put into its environment).
  std::vector<SecretBinding> secrets;
  SecretResolver resolve_secret;
};

// ---- what comes back --------------------------------------------------------------------------
// The sandbox is up (batch: the workload started; interactive: the kernel is ready for turn 1,
// setup code has run). `container_id` is the backend's own name for it — what a host-side
// leftover check must look for (gVisor: the runsc container id, random for a warm-pool kernel;
// Kubernetes: the pod name; simulator: the session id).
struct Started {
  Started(std::string id = "") : container_id(std::move(id)) {}  // Started{} still reads
  std::string container_id;
};
// A chunk of live output, for streaming to watchers only (the final output arrives in Exited /
// TurnDone). `stream` is "stdout" or "stderr". Live output is capped by the backend, per turn
// (interactive) or per session (batch), at the same limit as stored output: once a stream
// reaches it, one last Output with `truncated` set (and no data) says the rest was dropped.
struct Output {
  std::string stream;
  std::string data;
  uint32_t turn = 0;  // 0 for batch output
  bool truncated = false;
};
// An interactive turn finished (or timed out: timed_out=true, has_exit_code=false; with
// interrupted=true it stopped when interrupted and the kernel lives on).
struct TurnDone {
  events::ExecTurn turn;
};
// A connection attempt that policy refused. `ip` is the address refused when the backend resolved
// one; `reason` is "internal_address" (the server's egress policy), "connection_limit", or empty
// (not on the allow-list / no egress at all).
struct EgressDenied {
  std::string host;
  uint32_t port = 0;
  std::string ip;
  std::string reason;
};
// An allow-listed connection was opened, to `ip`: the one address checked against the server's
// egress policy (a name is resolved once, and that address is the one connected to).
struct EgressAllowed {
  std::string host;
  uint32_t port = 0;
  std::string ip;
};
// The workload is gone. `exit.observed` names a quota the backend saw hit (memory, pids) or
// NONE; a sandbox that could not start reports exit_code -1 with `exit.detail` saying why (the
// session then fails). Usage as metered on the host comes with it.
struct Exited {
  events::WorkloadExited exit;
  events::UsageMetered usage;
  // A batch run's files matching its spec's artifact globs, read from its working directory
  // before the sandbox went (issue 20); empty for backends without one.
  std::vector<events::ArtifactCollected> artifacts = {};
};
// The backend tried to remove every trace of the sandbox (container, cgroups, sockets, files).
// Always follows Exited, and is the last event of a session unless `left` is non-empty: then
// something could not be removed (`left` says what), the teardown is incomplete, and the caller
// asks again with kill() (which retries the removal and reports Removed again).
struct Removed {
  Removed(std::string d = "", std::string l = "", std::string cid = "")
      : detail(std::move(d)), left(std::move(l)), container_id(std::move(cid)) {}
  std::string detail;
  std::string left;          // "" = nothing left
  std::string container_id;  // as in Started, when the backend made one ("" if none)
};

// An interactive sandbox's CPU time since its kernel was ready, as the host measures it (never
// from anything the sandbox says). Sent on a bounded timer while the session lives, so CPU burnt
// between turns is counted too. Backends that cannot measure it never send it.
struct CpuUsage {
  uint64_t cpu_ms = 0;
};

// A checkpoint of an interactive sandbox (pause, fork, server shutdown) finished. `error`
// non-empty: no usable image (the sandbox may have died: then Exited and Removed follow as
// usual). Else the image is in `image_dir` (`bytes` and `sha256` of its checkpoint.img, what
// restore() must be given back), and with `running` false the sandbox is gone — the session has
// no sandbox now and nothing more is reported for it until a restore(); with `running` true it
// runs on from the same state (a snapshot).
struct Checkpointed {
  std::string error;
  std::string image_dir;
  uint64_t bytes = 0;
  std::string sha256;
  uint64_t duration_ms = 0;
  bool running = false;
};

// The egress proxy injected a secret into requests (rate-limited: `use.count` requests, at most
// one report per secret, host and second). Names only, never a value.
struct SecretUsed {
  events::SecretUsed use;
};

using Event = std::variant<Started, Output, TurnDone, EgressDenied, Exited, Removed, EgressAllowed,
                           CpuUsage, Checkpointed, SecretUsed>;

// Receives backend events. Called from backend threads; must not block for long.
using Sink = std::function<void(const std::string& session_id, Event event)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // Short name: "simulator", "gvisor", "kubernetes".
  virtual std::string name() const = 0;

  // Starts a sandbox. Reports Started, then (eventually) Exited and Removed — or, if it cannot
  // start, Exited (exit_code -1, detail) and Removed.
  virtual void launch(const LaunchSpec& spec) = 0;

  // Runs one turn in an interactive session's kernel; reports TurnDone(turn). A turn that runs
  // past timeout_ms is interrupted (Python: KeyboardInterrupt, as a notebook's stop button) and
  // reported with timed_out=true: with interrupted=true (and the output so far, the traceback on
  // stderr) when it stopped within the backend's grace period — the session goes on — else
  // without, and the caller then kills the session. Turns are issued one at a time per session.
  virtual void exec_turn(const std::string& session_id, uint32_t turn, const std::string& code,
                         int64_t timeout_ms) = 0;

  // Ends the sandbox (any state); reports Exited (if not yet) and Removed. Idempotent; unknown
  // ids report Removed so the caller is never left waiting. After a Removed with `left`, a kill()
  // retries removing what was left and reports Removed again.
  virtual void kill(const std::string& session_id, const std::string& reason) = 0;

  // Whether the backend still runs this session's sandbox (used after a control-plane restart to
  // re-attach). Re-attached sessions then report as usual.
  virtual bool adopt(const std::string& session_id) = 0;
  // The same, with what the log says of the sandbox (backends whose sandbox names are not the
  // session id need it: a gVisor warm-pool kernel). Read back from the data dir: hostile — a
  // backend checks every field against what it finds on the host before acting on it.
  struct AdoptSpec {
    std::string session_id;
    std::string container_id;  // as recorded in sandbox_started / session_resumed
    events::SessionSpec spec;
  };
  virtual bool adopt_sandbox(const AdoptSpec& a) { return adopt(a.session_id); }

  // Removes every sandbox and leftover resource this backend owns whose id is not in `keep`.
  // Returns a human-readable line per thing removed (for the log).
  virtual std::vector<std::string> cleanup_orphans(const std::set<std::string>& keep) = 0;

  // Stops internal threads. After it returns no more events are delivered.
  virtual void shutdown() = 0;

  // The host directory that is this live session's /home/user (writable, capped at
  // limits.diskMb), for the files API to work in — beneath its fd, never by path lookup
  // (backends/session_files.h). "" when the backend keeps none or the sandbox is gone.
  virtual std::string workdir(const std::string& /*session_id*/) const { return ""; }
  // ---- checkpoints (interactive sessions; see Checkpointed) -----------------------------------
  // Whether checkpoint() and restore() work on this backend (else the engine answers 501).
  virtual bool supports_checkpoint() const { return false; }
  // Checkpoints the session's idle kernel (no turn running) into `image_dir`; reports
  // Checkpointed. Only called when supports_checkpoint() (the default does nothing).
  virtual void checkpoint(const std::string& /*session_id*/, const std::string& /*image_dir*/,
                          bool /*leave_running*/) {}
  // Starts a sandbox for `spec` from the image in `image_dir` instead of booting one. The image
  // is hostile input: it is restored only if its checkpoint.img is at most `max_bytes` and has
  // exactly `sha256`. Reports Started (restored, the kernel reconnected) or, if it cannot,
  // Exited (exit_code -1, detail) and Removed, exactly like launch(). Only called when
  // supports_checkpoint() (the default does nothing).
  virtual void restore(const LaunchSpec& /*spec*/, const std::string& /*image_dir*/,
                       const std::string& /*sha256*/, uint64_t /*max_bytes*/) {}

  // Sandboxes started ahead of demand and idle, waiting for a session (a warm pool), for
  // metrics. Default: 0 (no pool).
  virtual size_t idle_pool_size() const { return 0; }
};

}  // namespace enclave::backends
