// The session actor's state and the functions its two files share (internal to actors/):
// session_actor.cc (life, turns, teardown, the behaviour) and session_checkpoint.cc (pause,
// resume, snapshots for forks). Nothing outside them includes this.
#pragma once

#include <caf/all.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/context.h"
#include "actors/messages.h"
#include "events/session.h"

namespace enclave::session_actor_detail {

struct SessionActorState {
  const Context* ctx = nullptr;
  session::State s;  // includes events handed to the log but not yet acknowledged
  std::string hex;
  caf::actor fleet;
  struct Inflight {
    std::vector<events::Envelope> events;
    std::vector<std::function<void()>> after;
    std::vector<std::function<void(const Error&)>> failed;  // instead of `after` on a failure
  };
  // vectors, not deques: an empty std::deque allocates ~600 bytes, and there may be 100k actors
  std::vector<Inflight> inflight;     // oldest first; rarely more than two
  std::vector<msg::Exec> exec_queue;  // turns waiting for the one in flight; bounded
  std::optional<msg::Exec> current;   // the turn the backend is running
  uint32_t current_turn = 0;          // its turn number (its live output carries it)
  std::map<uint64_t, Callback<api::Session>> teardown_waiters;
  uint64_t next_waiter = 1;
  bool launched = false;  // the backend may hold a sandbox for this session
  bool kill_sent = false;
  bool fork_run_queued = false;  // a fromSession fleet member's one turn was queued
  bool done = false;
  bool released = false;  // its admission slot (or place in the queue) was given back
  // An append failed: `s` is back at what the log holds, the sandbox is being killed, and
  // nothing is recorded until the log takes writes again (RetryLog), when the end is recorded.
  bool log_failed = false;
  bool sandbox_gone = false;      // the backend reported Removed while log_failed
  size_t stale_commits = 0;       // answers still due for appends dropped by a failure
  uint32_t teardown_retries = 0;  // kill() retries sent after an incomplete teardown
  bool retry_scheduled = false;
  // A checkpoint under way (pause: the sandbox goes; snapshot: for forks, it runs on). Turns
  // wait meanwhile.
  struct Checkpointing {
    std::string reason;  // a pause's reason
    std::string snapshot_id;
    uint32_t forks = 0;  // 0: a pause
    std::vector<Callback<api::Session>> waiters;
    Callback<msg::ForkSource> fork_done;
  };
  std::optional<Checkpointing> checkpointing;
  bool resuming = false;      // a paused session waits for admission / its restore
  std::string resume_reason;  // what it is resumed for ("api", "exec", "server_restart")
  // A new session asked admission first (issue 24); its creation is recorded with the answer.
  std::optional<msg::Create> pending_create;
};

using Self = caf::stateful_actor<SessionActorState>;

// ---- session_actor.cc ----
// The session as the log holds it now (what an answer shows).
Result<api::Session> committed_view(const Context* ctx, const std::string& id);
// Runs `fn` once everything handed to the log so far is durable; `failed` instead if the log
// refuses any of it.
void after_commits(Self* self, std::function<void()> fn,
                   std::function<void(const Error&)> failed = nullptr);
// decide → apply (optimistically) → append. Effects run when the log acknowledges.
Result<bool> record(Self* self, const session::Command& cmd);
// Starts the next queued turn if none runs.
void pump(Self* self);

// ---- session_checkpoint.cc ----
// Where a session's checkpoint images live, and one image's directory.
std::string session_snapshots(const Context* ctx, const std::string& hex);
std::string image_dir(const Context* ctx, const std::string& hex, const std::string& snapshot);
// What a checkpoint image may weigh before a restore refuses it.
uint64_t image_bound(const events::SessionSpec& spec);
void start_checkpoint(Self* self, SessionActorState::Checkpointing c);
void start_resume(Self* self, const std::string& reason);
void on_checkpointed(Self* self, backends::Checkpointed& c);
void handle_pause(Self* self, msg::Pause& x);
void handle_snapshot(Self* self, msg::Snapshot& x);

}  // namespace enclave::session_actor_detail
