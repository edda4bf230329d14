// A session's whole life as pure functions: `decide(state, command, now)` turns a command into the
// events to record (or an error), `apply(state, event)` folds one recorded event into the state.
// No I/O, no clock, no sends: the session actor and offline replay both run exactly this.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "events/clock.h"
#include "events/error.h"
#include "events/events.pb.h"

namespace enclave::session {

// kPaused: checkpointed, no sandbox, no admission slot (docs/PAUSE.md). Appended last: phases
// are stored as numbers in snapshots.
enum class Phase { kQueued, kStarting, kRunning, kSucceeded, kFailed, kKilled, kPaused };

// "queued", "starting", … as in SPEC.md.
const char* phase_name(Phase p);
// "wall_clock_exceeded", … as in SPEC.md; "" for KILL_REASON_NONE.
const char* kill_reason_name(events::KillReason r);
bool is_terminal(Phase p);

// Bounds applied to every session (server settings, SPEC.md env vars).
struct Policy {
  TimeMs idle_ttl_ms = 300'000;
  TimeMs max_lifetime_ms = 1'800'000;
  uint64_t max_cumulative_ms = 60'000;
  // A CPU sample below the budget is recorded only once it has grown this much since the last
  // recorded figure (an idle kernel records nothing; a burner records ~1 event a second).
  uint64_t cpu_record_step_ms = 1'000;
  TimeMs start_timeout_ms = 120'000;  // a sandbox that has not started by then is an error
  // A paused session is ended (paused_expired) after this long (ENCLAVE_PAUSED_MAX_SECONDS).
  TimeMs paused_max_ms = 604'800'000;
  // What an idle timeout does to an interactive session whose request did not say (onIdle):
  // false kills it (ENCLAVE_INTERACTIVE_ON_IDLE=kill), true pauses it.
  bool pause_on_idle = false;
};

struct State {
  bool exists = false;
  std::string id;  // 16-byte stream id
  std::string org_id;
  std::string created_by;
  events::SessionSpec spec;
  Phase phase = Phase::kQueued;
  uint64_t last_seq = 0;

  TimeMs created_at_ms = 0;
  TimeMs admitted_at_ms = 0;
  TimeMs started_at_ms = 0;  // 0: sandbox not started
  TimeMs ended_at_ms = 0;    // 0: not ended
  TimeMs last_activity_ms = 0;

  bool queue_recorded = false;
  uint64_t ticket = 0;
  bool admitted = false;
  uint64_t grant = 0;

  events::KillReason kill_reason = events::KILL_REASON_NONE;
  std::string kill_detail;
  bool exited = false;
  std::optional<int32_t> exit_code;
  std::string stdout_text, stderr_text, json;
  bool stdout_truncated = false, stderr_truncated = false;
  std::string exit_detail;

  uint32_t turns = 0;
  uint64_t turn_ms_total = 0;
  // Sandbox CPU since the kernel was ready, as last recorded (cpu_metered, exec_turn.cpu_ms).
  uint64_t cpu_ms = 0;
  uint32_t egress_denied = 0;
  uint32_t egress_allowed = 0;
  bool usage_recorded = false;
  events::UsageMetered usage;
  bool torn_down = false;
  std::string container_id;         // the backend's name for the sandbox (sandbox_started)
  std::string teardown_incomplete;  // what the last failed teardown left; "" once torn down
  uint32_t teardown_attempts = 0;   // teardown attempts recorded as incomplete

  // pause/resume/fork. The image the session is restored from when next admitted (a pause, or
  // the snapshot it was forked from); `restore_on_admit` says whether admission restores instead
  // of launching. `paused_at_ms` != 0 while paused (and while resuming, until session_resumed).
  TimeMs paused_at_ms = 0;
  TimeMs paused_ms_total = 0;  // the lifetime clock does not run while paused
  std::string snapshot_id, snapshot_sha256;
  uint64_t snapshot_bytes = 0;
  TimeMs snapshot_taken_at_ms = 0;
  bool restore_on_admit = false;
  std::string pause_reason;  // of the last pause ("api", "idle", "server_restart")
  // CPU a restored sandbox measures starts again at 0: what was recorded before is added to it.
  uint64_t cpu_offset_ms = 0;
  std::string forked_from;  // 16-byte id of the session this one was forked from

  bool interactive() const { return spec.exec_mode() == events::EXEC_MODE_INTERACTIVE; }
  bool paused() const { return phase == Phase::kPaused; }
  bool ended() const { return is_terminal(phase); }
};

// ---- commands -------------------------------------------------------------------------------
struct RecordQueued {
  uint32_t queued, max_concurrency;
  uint64_t ticket;
  uint32_t org_queued = 0;  // sessions of the same org waiting, this one included
};
struct Admit {
  uint32_t active, max_concurrency;
  uint64_t ticket, grant;
};
struct Create {
  std::string id, org_id, created_by;
  events::SessionSpec spec;  // already validated and defaulted
  // Admission's answer, asked before the creation is recorded (issue 24): with it, the creating
  // batch also holds session_admitted (a slot was free) or session_queued (parked), so a new
  // session reaches its launch after ONE fsync. monostate: created only (fleet members that
  // found no slot free at their fleet's creation: their admission follows its commit).
  std::variant<std::monostate, RecordQueued, Admit> admission = std::monostate{};
};
struct SandboxUp {
  // A constructor so that `SandboxUp{backend, reattached}` (no container id) still reads.
  SandboxUp(std::string b = "", bool re = false, std::string cid = "")
      : backend(std::move(b)), reattached(re), container_id(std::move(cid)) {}
  std::string backend;
  bool reattached = false;
  std::string container_id;   // the backend's name for the sandbox, recorded for leftover checks
  std::string resume_reason;  // a paused session restored: why it was resumed ("api", "exec", …)
};
struct CompleteTurn {
  events::ExecTurn turn;  // turn number, output and duration as the backend reported
};
struct DenyEgress {
  std::string host;
  uint32_t port = 0;
  std::string ip;      // the refused address, when the backend resolved one
  std::string reason;  // "internal_address", "connection_limit", or empty: not on the allow-list
};
// The backend opened an allow-listed connection (to `ip`, the address the policy checked).
struct AllowEgress {
  std::string host;
  uint32_t port = 0;
  std::string ip;
};
struct Kill {
  events::KillReason reason;
  std::string detail;
};
struct Reap {};  // "check your time bounds"; the reason is computed from the state and `now`
struct Exit {
  events::WorkloadExited exit;
  // A batch run's artifacts, collected by the backend before its sandbox went (issue 20);
  // recorded as artifact_collected events just before workload_exited.
  std::vector<events::ArtifactCollected> artifacts = {};
};
struct Meter {
  events::UsageMetered usage;
};
// The backend reports the sandbox removed. `left` non-empty: it could not remove everything,
// recorded as teardown_incomplete (once per distinct `left`); the session is not torn down.
struct TearDown {
  TearDown(std::string d = "", std::string l = "") : detail(std::move(d)), left(std::move(l)) {}
  std::string detail;
  std::string left;
};
// The host's reading of an interactive sandbox's CPU since its kernel was ready (cumulative,
// from the cgroup; never from a frame). Sent on a bounded timer while the session lives.
struct MeterCpu {
  uint64_t cpu_ms = 0;
};
// The egress proxy injected one of the session's secrets (already rate-limited: `count` requests
// stand behind it). Recorded as secret_used; names, never a value.
struct UseSecret {
  events::SecretUsed use;
};

// The files API wrote a file into the session or read one out of it (issue 20): recorded so
// forensics can say which data a session was given. Refused once the session is torn down.
struct RecordFile {
  std::variant<events::FileWritten, events::FileRead> access;
};
// The backend checkpointed the sandbox and it is gone: the session is paused.
struct Paused {
  std::string snapshot_id, sha256;
  uint64_t bytes = 0, duration_ms = 0;
  std::string reason;  // "api", "idle", "server_restart"
};
// A checkpoint for `forks` new sessions was taken; the session runs on (or stays paused).
struct TakeSnapshot {
  std::string snapshot_id, sha256;
  uint64_t bytes = 0, duration_ms = 0;
  uint32_t forks = 0;
};
// A new session (just created) starts from a snapshot of session `from` instead of booting.
struct ForkFrom {
  std::string from, snapshot_id, sha256;
  uint64_t bytes = 0;
};

using Command = std::variant<Create, RecordQueued, Admit, SandboxUp, CompleteTurn, DenyEgress, Kill,
                             Reap, Exit, Meter, TearDown, AllowEgress, MeterCpu, UseSecret, Paused,
                             TakeSnapshot, ForkFrom, RecordFile>;

// The events a command produces (payloads; the actor wraps them in envelopes). Empty = nothing
// to record (e.g. a second teardown). An error = the command is refused and nothing is recorded.
[[nodiscard]] Result<std::vector<events::Envelope>> decide(const State& s, const Command& c,
                                                           TimeMs now, const Policy& policy);

// Folds one stored event. Never fails: unknown or out-of-place events leave the state unchanged.
State apply(State s, const events::Envelope& e);
// The same fold, in place (for long replays).
void apply_into(State& s, const events::Envelope& e);

// Whether a new exec turn may start now; the next turn's number if so.
[[nodiscard]] Result<uint32_t> check_exec(const State& s);
// Whether an exec may be accepted: a running session, or a paused one (the exec resumes it
// first). The next turn's number if so.
[[nodiscard]] Result<uint32_t> check_exec_or_resume(const State& s);
// Whether the session may be paused now (interactive and running; a paused one: nothing to do,
// answered `false`). Busy turns are the actor's to check.
[[nodiscard]] Result<bool> check_pause(const State& s);
// Whether the session may be resumed (paused: true; running or starting: false, nothing to do).
[[nodiscard]] Result<bool> check_resume(const State& s);
// Whether the session may be forked (interactive, running or paused).
[[nodiscard]] Result<bool> check_fork(const State& s);
// Whether an idle timeout pauses this session instead of killing it.
bool pauses_on_idle(const State& s, const Policy& policy);

// What the cumulative budget (Policy::max_cumulative_ms) is charged for an interactive session:
// the larger of its turns' wall time (each ≥ 1 ms) and the sandbox's CPU time, so neither a
// forged "done" frame (short turns) nor work between turns escapes it.
uint64_t charged_ms(uint64_t turn_ms_total, uint64_t cpu_ms);

// Whether a session has ended with everything its result will hold: ended, and its workload's
// exit recorded (or it is torn down, so no exit will ever come). What `?wait=S` waits for.
bool settled(const State& s);

// Which time bound, if any, is exceeded at `now`.
std::optional<events::KillReason> due_kill(const State& s, TimeMs now, const Policy& policy);

// The earliest time at which due_kill may become true; nullopt if no bound applies.
std::optional<TimeMs> next_deadline(const State& s, const Policy& policy);

// Name of the event type in the audit trail ("session_created", …).
const char* event_type(const events::Envelope& e);

}  // namespace enclave::session
