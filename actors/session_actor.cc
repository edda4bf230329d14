#include "actors/session_actor.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>

#include "actors/messages.h"
#include "actors/session_actor_state.h"
#include "events/ids.h"
#include "events/policy/storage_gate.h"
#include "events/views/api_views.h"

namespace enclave {

namespace session_actor_detail {

constexpr auto kTeardownReplyBound = std::chrono::seconds(15);
constexpr size_t kMaxPendingTurns = 64;  // turns queued behind the one running, per session
// After an append failed, how often the actor looks whether the log takes writes again.
constexpr auto kLogRetryEvery = std::chrono::seconds(1);
// An incomplete teardown is retried after 1, 2, 4, … s, at most a minute apart, for as long as
// the backend reports something left (the session keeps its admission slot meanwhile: the
// sandbox is not really gone).
constexpr auto kTeardownRetryFirst = std::chrono::seconds(1);
constexpr auto kTeardownRetryMax = std::chrono::seconds(60);

Result<api::Session> committed_view(const Context* ctx, const std::string& id) {
  auto s = ctx->model->session(id);
  if (!s) return make_error(ErrorCode::kNotFound, "not_found", "no such session");
  return views::session(*s);
}

// Runs `fn` once everything handed to the log so far is durable; `failed` instead if the log
// refuses any of it.
void after_commits(Self* self, std::function<void()> fn, std::function<void(const Error&)> failed) {
  if (self->state.inflight.empty()) {
    fn();
    return;
  }
  self->state.inflight.back().after.push_back(std::move(fn));
  if (failed) self->state.inflight.back().failed.push_back(std::move(failed));
}

// decide → apply (optimistically) → append. Effects run when the log acknowledges.
Result<bool> record(Self* self, const session::Command& cmd) {
  auto& st = self->state;
  auto r = session::decide(st.s, cmd, st.ctx->clock(), st.ctx->policy);
  if (!r) return r.error();
  auto& evs = r.value();
  if (evs.empty()) return false;
  for (const auto& e : evs) st.s = session::apply(std::move(st.s), e);
  storage::Append a{st.s.id, evs.front().seq() - 1, evs};
  st.inflight.push_back({std::move(evs), {}, {}});
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.ctx->commits->submit({std::move(a)}, [me](Result<std::vector<storage::Stored>> res) {
    caf::anon_send(me, msg::ToSession{msg::Committed{std::move(res)}});
  });
  return true;
}

void watch(Self* self) {
  auto& st = self->state;
  if (auto d = session::next_deadline(st.s, st.ctx->policy))
    self->send(st.ctx->reaper, msg::ToReaper{msg::Watch{st.s.id, self, *d}});
}

void fail_execs(Self* self, const Error& e) {
  auto& st = self->state;
  if (st.current) {
    st.current->done(e);
    st.current.reset();
  }
  for (auto& x : st.exec_queue) x.done(e);
  st.exec_queue.clear();
}

Error not_running(const session::State& s) {
  std::string why = std::string("session is ") + session::phase_name(s.phase);
  if (s.kill_reason != events::KILL_REASON_NONE)
    why += " (" + std::string(session::kill_reason_name(s.kill_reason)) + ")";
  return make_error(ErrorCode::kConflict, "session_not_running", why);
}

void pump(Self* self) {
  auto& st = self->state;
  if (st.current || st.exec_queue.empty() || st.checkpointing) return;
  if (st.s.phase != session::Phase::kRunning) {
    if (st.s.ended()) fail_execs(self, not_running(st.s));
    return;
  }
  st.current = std::move(st.exec_queue.front());
  st.exec_queue.erase(st.exec_queue.begin());
  const auto& req = st.current->request;
  int64_t timeout = req.has_timeout_ms() ? req.timeout_ms()
                                         : int64_t{st.s.spec.limits().wall_clock_seconds()} * 1000;
  st.current_turn = st.s.turns + 1;
  st.ctx->backend->exec_turn(st.hex, st.current_turn, req.code(), timeout);
}

void kill_sandbox(Self* self, const std::string& why) {
  auto& st = self->state;
  if (st.kill_sent) return;
  st.kill_sent = true;
  st.ctx->backend->kill(st.hex, why);
}

// A fleet member with fromSession (actors/fleet_forks.h) runs its code as its one turn in the
// forked kernel, first thing once it runs, and then ends with that turn's outcome, as a batch
// member would (succeeded / failed; a turn that did not finish is exit -1).
void run_fork_member(Self* self) {
  auto& st = self->state;
  const auto& spec = st.s.spec;
  if (st.fork_run_queued || spec.from_session().empty() || spec.fleet_id().empty() ||
      st.s.turns > 0)
    return;
  st.fork_run_queued = true;
  msg::Exec x;
  x.request.set_code(spec.code());
  x.done = [](Result<api::ExecTurnResult>) {};  // its end is recorded by end_fork_member
  st.exec_queue.insert(st.exec_queue.begin(), std::move(x));
}

bool end_fork_member(Self* self, const events::ExecTurn& turn) {
  auto& st = self->state;
  if (!st.fork_run_queued || st.s.ended()) return false;
  events::WorkloadExited ex;
  ex.set_exit_code(turn.has_exit_code() ? turn.exit_code() : -1);
  if (!turn.has_exit_code()) ex.set_detail("the member's turn did not finish (timed out)");
  ex.set_stdout(turn.stdout());
  ex.set_stderr(turn.stderr());
  ex.set_json(turn.json());
  ex.set_stdout_bytes(turn.stdout().size());
  ex.set_stderr_bytes(turn.stderr().size());
  auto r = record(self, session::Exit{ex});
  if (!r) spdlog::warn("session {}: {}", st.hex, r.error().message);
  kill_sandbox(self, "fleet member's turn is done");
  return true;
}

void finish(Self* self) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  st.ctx->creds->drop(st.hex);
  self->send(st.ctx->reaper, msg::ToReaper{msg::Unwatch{st.s.id}});
  // Frees its slot, or withdraws it from the queue if it never got one.
  if (!st.released) self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});
  st.released = true;
  if (!st.teardown_waiters.empty()) {  // a view costs a fold to JSON-ready text; only if asked
    auto view = committed_view(st.ctx, st.s.id);
    for (auto& [k, cb] : st.teardown_waiters) cb(view);
    st.teardown_waiters.clear();
  }
  fail_execs(self, not_running(st.s));
  if (st.fleet) self->send(st.fleet, msg::ToFleet{msg::MemberGone{st.s.id}});
  st.ctx->registry->erase(st.s.id);
  self->quit();
}

// What callers are told while the log cannot record this session: 503 log_unavailable.
Error log_unavailable(const Error& cause) {
  auto e = make_error(ErrorCode::kUnavailable, "log_unavailable",
                      "the event log could not record this session's events, so its sandbox "
                      "was killed (" +
                          cause.message + ")");
  e.retry_after_s = storage_gate::kLogRetryAfterSeconds;
  return e;
}

// The log refused or failed an append: nothing of it is stored, nor of any later append of this
// stream (their seqs follow it). Acknowledged events stand; the rest is undone: the state goes
// back to the committed one, the sandbox is killed, the admission slot given back and every
// waiter answered. The end (killed/sandbox_error) is recorded once the log takes writes again.
void on_log_failure(Self* self, SessionActorState::Inflight failed_append, const Error& cause) {
  auto& st = self->state;
  spdlog::error("session {}: the log refused an append ({}); killing its sandbox", st.hex,
                cause.message);
  const Error answer = log_unavailable(cause);
  for (auto& fn : failed_append.failed) fn(answer);
  for (auto& inf : st.inflight)
    for (auto& fn : inf.failed) fn(answer);
  st.stale_commits += st.inflight.size();
  st.inflight.clear();
  fail_execs(self, answer);
  for (auto& [k, cb] : st.teardown_waiters) cb(answer);
  st.teardown_waiters.clear();
  self->send(st.ctx->reaper, msg::ToReaper{msg::Unwatch{st.s.id}});
  if (!st.released) {
    st.released = true;
    self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});
  }
  if (st.launched) kill_sandbox(self, "event log unwritable");
  std::string id = st.s.id;
  auto committed = st.ctx->model->session(id);
  if (!committed) {  // not even its creation is stored: there is nothing to end
    st.ctx->registry->erase(id);
    st.done = true;
    self->quit();
    return;
  }
  st.s = std::move(*committed);
  st.log_failed = true;
  self->delayed_send(self, kLogRetryEvery, msg::ToSession{msg::RetryLog{}});
}

// The log takes writes again after a failure: record how the session ended. A sandbox that is
// already gone (or was never launched) is torn down at once; otherwise its Removed does it.
void record_end_after_log_failure(Self* self) {
  auto& st = self->state;
  st.log_failed = false;
  auto log_err = [&](const Result<bool>& r) {
    if (!r) spdlog::warn("session {}: {}", st.hex, r.error().message);
  };
  log_err(record(self, session::Kill{events::KILL_REASON_SANDBOX_ERROR,
                                     "the event log could not record this session's events; "
                                     "its sandbox was killed"}));
  if (st.s.torn_down || (st.launched && !st.sandbox_gone)) return;
  if (st.launched && !st.s.exited) {
    events::WorkloadExited lost;
    lost.set_exit_code(-1);
    lost.set_detail("sandbox killed while the event log was unwritable");
    log_err(record(self, session::Exit{lost}));
  }
  log_err(record(self, session::TearDown{"sandbox killed while the event log was unwritable"}));
}

// ---- pause, resume, fork ---------------------------------------------------------------------

// Side effects of events that are now durable.
void on_durable(Self* self, const events::Envelope& e) {
  auto& st = self->state;
  using E = events::Envelope;
  switch (e.payload_case()) {
    case E::kSessionAdmitted:
      if (!st.s.ended()) {
        // The credential lives as long as the session may: held here, never handed to the
        // sandbox (LaunchSpec has no field for it) nor to the log.
        TimeMs ttl = st.s.interactive() ? st.ctx->policy.max_lifetime_ms
                                        : TimeMs{st.s.spec.limits().wall_clock_seconds()} * 1000;
        st.ctx->creds->mint(st.hex, st.s.org_id, e.at_ms(),
                            e.at_ms() + ttl + st.ctx->policy.start_timeout_ms);
        st.launched = true;
        backends::LaunchSpec launch{st.hex, st.s.spec, st.s.org_id};
        if (st.ctx->secrets && st.s.spec.secrets_size() > 0) {
          launch.secrets = st.ctx->secrets->bindings(st.s.org_id, st.s.spec.secrets());
          launch.resolve_secret = st.ctx->secrets->resolver(st.s.org_id);
        }
        if (st.s.restore_on_admit) {  // paused, or a fork: from its image, never booted anew
          st.ctx->backend->restore(
              launch,
              image_dir(
                  st.ctx,
                  to_hex(st.s.forked_from.empty() || st.s.paused_at_ms != 0 ? st.s.id
                                                                            : st.s.forked_from),
                  st.s.snapshot_id),
              st.s.snapshot_sha256, image_bound(st.s.spec));
        } else {
          st.ctx->backend->launch(launch);
        }
      }
      watch(self);
      break;
    case E::kSessionPaused:
      // No sandbox now: its slot is free for others, and only the paused bound is watched.
      if (!st.released) {
        st.released = true;
        self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});
      }
      watch(self);
      if (!st.exec_queue.empty()) start_resume(self, "exec");  // turns came in meanwhile
      break;
    case E::kSessionResumed:
      st.resuming = false;
      watch(self);
      run_fork_member(self);
      pump(self);
      break;
    case E::kSandboxStarted:
      watch(self);
      run_fork_member(self);
      pump(self);
      break;
    case E::kExecTurn:
      if (st.current) {
        st.current->done(views::turn_result(e.exec_turn()));
        st.current.reset();
      }
      if (end_fork_member(self, e.exec_turn())) break;
      watch(self);
      pump(self);
      break;
    case E::kQuotaKilled:
      self->send(st.ctx->reaper, msg::ToReaper{msg::Unwatch{st.s.id}});
      fail_execs(self, not_running(st.s));
      if (st.launched) kill_sandbox(self, session::kill_reason_name(e.quota_killed().reason()));
      break;
    case E::kSessionTornDown: {
      // Its checkpoint images go with it (counted in the org's storage until then).
      std::error_code ec;
      std::filesystem::remove_all(session_snapshots(st.ctx, st.hex), ec);
      finish(self);
      break;
    }
    default:
      break;
  }
}

void schedule_teardown_retry(Self* self) {
  auto& st = self->state;
  if (st.retry_scheduled) return;
  st.retry_scheduled = true;
  auto delay = kTeardownRetryFirst * (1 << std::min<uint32_t>(st.teardown_retries, 6));
  self->delayed_send(self, std::min<std::chrono::seconds>(delay, kTeardownRetryMax),
                     msg::ToSession{msg::RetryTeardown{st.teardown_retries + 1}});
}

void on_backend(Self* self, backends::Event& ev) {
  auto& st = self->state;
  auto log_err = [&](const Result<bool>& r) {
    if (!r) spdlog::warn("session {}: {}", st.hex, r.error().message);
  };
  if (auto* o = std::get_if<backends::Output>(&ev)) {
    st.ctx->model->publish_output(st.s.id, o->stream, o->data, o->turn, o->truncated);
    // The running turn's caller gets its own output; the TurnDone that follows is only
    // answered after its commit, so every chunk reaches the caller before the answer.
    if (st.current && st.current->on_output && o->turn == st.current_turn) {
      StreamItem item;
      item.kind = StreamItem::Kind::kOutput;
      item.stream = o->stream;
      item.data = o->data;
      item.turn = o->turn;
      item.truncated = o->truncated;
      st.current->on_output(item);
    }
  } else if (auto* u = std::get_if<backends::CpuUsage>(&ev)) {
    log_err(record(self, session::MeterCpu{u->cpu_ms}));
  } else if (auto* up = std::get_if<backends::Started>(&ev)) {
    session::SandboxUp cmd{st.ctx->backend->name(), false, up->container_id};
    cmd.resume_reason = st.resume_reason;
    log_err(record(self, cmd));
  } else if (auto* ck = std::get_if<backends::Checkpointed>(&ev)) {
    on_checkpointed(self, *ck);
  } else if (auto* t = std::get_if<backends::TurnDone>(&ev)) {
    if (st.current) {
      auto turn = t->turn;
      turn.set_code(st.current->request.code());  // what ran is in the log, not only its hash
      log_err(record(self, session::CompleteTurn{std::move(turn)}));
    }
  } else if (auto* d = std::get_if<backends::EgressDenied>(&ev)) {
    log_err(record(self, session::DenyEgress{d->host, d->port, d->ip, d->reason}));
  } else if (auto* u = std::get_if<backends::SecretUsed>(&ev)) {
    log_err(record(self, session::UseSecret{u->use}));
  } else if (auto* a = std::get_if<backends::EgressAllowed>(&ev)) {
    log_err(record(self, session::AllowEgress{a->host, a->port, a->ip}));
  } else if (auto* x = std::get_if<backends::Exited>(&ev)) {
    log_err(record(self, session::Exit{x->exit, std::move(x->artifacts)}));
    x->usage.set_turn_ms_total(st.s.turn_ms_total);
    log_err(record(self, session::Meter{x->usage}));
  } else if (auto* r = std::get_if<backends::Removed>(&ev)) {
    if (!st.s.exited) {
      events::WorkloadExited lost;
      lost.set_exit_code(-1);
      lost.set_detail("sandbox removed without an exit status: " + r->detail);
      log_err(record(self, session::Exit{lost}));
    }
    auto torn = record(self, session::TearDown{r->detail, r->left});
    log_err(torn);
    if (!r->left.empty()) {
      // Something is still on the host: not torn down, the slot stays held, ask again later.
      spdlog::warn("session {}: teardown incomplete: {}", st.hex, r->left);
      schedule_teardown_retry(self);
      return;
    }
    if (torn && *torn && !st.released) {
      // The sandbox is gone: its slot is free now, not one fsync later. The log still never
      // shows more than the ceiling: commits are FIFO, so the torn-down event just submitted
      // lands before (or with) the admission this release lets through.
      st.released = true;
      self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});
    }
  }
}

void recover(Self* self, bool adopted) {
  auto& st = self->state;
  const auto& s = st.s;
  if (s.paused()) {
    // Nothing runs; its image waits. Paused by the last shutdown: resumed now.
    watch(self);
    if (s.pause_reason == "server_restart") start_resume(self, "server_restart");
    return;
  }
  if (!s.admitted && !s.ended()) return;  // queued: the engine re-enqueues it in ticket order
  st.launched = true;
  if (!s.ended() && adopted) {
    spdlog::info("session {}: re-attached after restart", st.hex);
    if (s.phase == session::Phase::kRunning) {
      auto r = record(self, session::SandboxUp{st.ctx->backend->name(), true, s.container_id});
      if (!r) spdlog::warn("session {}: {}", st.hex, r.error().message);
    }
    watch(self);
    return;
  }
  if (!s.ended()) {
    auto r = record(self, session::Kill{events::KILL_REASON_SANDBOX_ERROR,
                                        "sandbox lost in a control-plane restart"});
    if (!r) spdlog::warn("session {}: {}", st.hex, r.error().message);
    return;  // the kill effect asks the backend, which reports Removed
  }
  kill_sandbox(self, "cleanup after restart");
}

// While log_failed, what a message does instead of the usual. True: handle it as usual (the
// answers of appends made before the failure, which the usual path drops as stale).
template <typename T>
bool handle_while_log_failed(Self* self, T& x) {
  auto& st = self->state;
  auto unwritable = [] {
    return log_unavailable(
        make_error(ErrorCode::kUnavailable, "log_unavailable", "the event log is unwritable"));
  };
  if constexpr (std::is_same_v<T, msg::Committed>) {
    return true;
  } else if constexpr (std::is_same_v<T, msg::FromBackend>) {
    if (std::get_if<backends::Removed>(&x.event)) st.sandbox_gone = true;
  } else if constexpr (std::is_same_v<T, msg::Admitted>) {
    self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});  // not taking it
  } else if constexpr (std::is_same_v<T, msg::Exec> || std::is_same_v<T, msg::Pause> ||
                       std::is_same_v<T, msg::Resume> || std::is_same_v<T, msg::Snapshot>) {
    x.done(unwritable());
  } else if constexpr (std::is_same_v<T, msg::RecordFile>) {
    x.done(unwritable());
  } else if constexpr (std::is_same_v<T, msg::Kill>) {
    if (x.done) x.done(unwritable());  // the sandbox is being killed; its end is not recorded yet
  } else if constexpr (std::is_same_v<T, msg::RetryLog>) {
    if (st.ctx->log->writable())
      record_end_after_log_failure(self);
    else
      self->delayed_send(self, kLogRetryEvery, msg::ToSession{msg::RetryLog{}});
  }
  return false;  // Queued, Reap, Recover, TeardownTimeout: moot now
}

// Records a new session's creation together with admission's answer to it (one batch, one
// fsync); the caller hears back once it is durable, and an admitted session launches then.
void record_creation(
    Self* self, std::variant<std::monostate, session::RecordQueued, session::Admit> admission) {
  auto& st = self->state;
  msg::Create create = std::move(*st.pending_create);
  st.pending_create.reset();
  create.command.admission = std::move(admission);
  auto r = record(self, create.command);
  if (!r) {
    self->send(st.ctx->admission, msg::ToAdmission{msg::Release{create.command.id}});
    st.released = true;
    create.done(r.error());
    st.ctx->registry->erase(create.command.id);
    st.done = true;
    self->quit();
    return;
  }
  auto done = std::move(create.done);
  after_commits(
      self, [self, done] { done(committed_view(self->state.ctx, self->state.s.id)); },
      [done](const Error& e) { done(e); });
}

caf::behavior session_actor(Self* self, const Context* ctx, session::State initial,
                            caf::actor fleet) {
  auto& st = self->state;
  st.ctx = ctx;
  st.s = std::move(initial);
  st.hex = to_hex(st.s.id);
  st.fleet = std::move(fleet);
  return {
      [self](msg::ToSession& m) {
        auto& st = self->state;
        if (st.done) return;
        std::visit(
            [&](auto& x) {
              using T = std::decay_t<decltype(x)>;
              if (st.log_failed && !handle_while_log_failed(self, x)) return;
              if constexpr (std::is_same_v<T, msg::Committed>) {
                if (st.stale_commits > 0) {  // an append dropped by an earlier failure
                  st.stale_commits--;
                  return;
                }
                auto inf = std::move(st.inflight.front());
                st.inflight.erase(st.inflight.begin());
                if (!x.result) {
                  on_log_failure(self, std::move(inf), x.result.error());
                  return;
                }
                for (const auto& e : inf.events) {
                  on_durable(self, e);
                  if (st.done) return;
                }
                for (auto& fn : inf.after) fn();
              } else if constexpr (std::is_same_v<T, msg::FromBackend>) {
                on_backend(self, x.event);
              } else if constexpr (std::is_same_v<T, msg::Queued>) {
                if (st.pending_create) {
                  record_creation(self, session::RecordQueued{x.queued, x.max_concurrency, x.ticket,
                                                              x.org_queued});
                  return;
                }
                (void)record(self, session::RecordQueued{x.queued, x.max_concurrency, x.ticket,
                                                         x.org_queued});
              } else if constexpr (std::is_same_v<T, msg::Admitted>) {
                if (st.pending_create) {
                  record_creation(self,
                                  session::Admit{x.active, x.max_concurrency, x.ticket, x.grant});
                  return;
                }
                auto r =
                    record(self, session::Admit{x.active, x.max_concurrency, x.ticket, x.grant});
                if (!r) self->send(st.ctx->admission, msg::ToAdmission{msg::Release{st.s.id}});
              } else if constexpr (std::is_same_v<T, msg::Exec>) {
                auto ok = session::check_exec_or_resume(st.s);
                if (!ok) {
                  x.done(ok.error());
                  return;
                }
                if (st.exec_queue.size() >= kMaxPendingTurns) {
                  x.done(make_error(ErrorCode::kConflict, "too_many_pending_turns",
                                    "this session already has " + std::to_string(kMaxPendingTurns) +
                                        " turns waiting; wait for their answers"));
                  return;
                }
                st.exec_queue.push_back(std::move(x));
                if (st.s.paused()) start_resume(self, "exec");  // an exec resumes it first
                pump(self);
              } else if constexpr (std::is_same_v<T, msg::Kill>) {
                auto r = record(self, session::Kill{x.reason, x.detail});
                if (!x.done) return;
                if (!r) {
                  x.done(r.error());
                } else if (st.s.torn_down || (st.s.ended() && !st.launched)) {
                  auto done = std::move(x.done);
                  after_commits(
                      self,
                      [self, done] { done(committed_view(self->state.ctx, self->state.s.id)); },
                      [done](const Error& e) { done(e); });
                } else {
                  uint64_t w = st.next_waiter++;
                  st.teardown_waiters[w] = std::move(x.done);
                  self->delayed_send(self, kTeardownReplyBound,
                                     msg::ToSession{msg::TeardownTimeout{w}});
                }
              } else if constexpr (std::is_same_v<T, msg::RetryTeardown>) {
                st.retry_scheduled = false;
                if (st.s.torn_down || st.s.teardown_incomplete.empty()) return;
                st.teardown_retries = x.attempt;
                st.ctx->backend->kill(
                    st.hex, "retry teardown (attempt " + std::to_string(x.attempt + 1) + ")");
                // If no answer comes (or it leaves something again), try again later.
                schedule_teardown_retry(self);
              } else if constexpr (std::is_same_v<T, msg::TeardownTimeout>) {
                auto it = st.teardown_waiters.find(x.waiter);
                if (it == st.teardown_waiters.end()) return;
                it->second(committed_view(st.ctx, st.s.id));
                st.teardown_waiters.erase(it);
              } else if constexpr (std::is_same_v<T, msg::Reap>) {
                auto due = session::due_kill(st.s, st.ctx->clock(), st.ctx->policy);
                if (st.current && due == events::KILL_REASON_IDLE_TIMEOUT) return;  // busy
                if (st.checkpointing) return;  // a pause or snapshot decides what comes next
                if (due == events::KILL_REASON_IDLE_TIMEOUT &&
                    session::pauses_on_idle(st.s, st.ctx->policy) &&
                    st.ctx->backend->supports_checkpoint() && st.exec_queue.empty()) {
                  SessionActorState::Checkpointing c;  // onIdle "pause": paused, not killed
                  c.reason = "idle";
                  start_checkpoint(self, std::move(c));
                  return;
                }
                auto r = record(self, session::Reap{});
                if (r && !*r) watch(self);  // not due yet (deadline moved): watch again
              } else if constexpr (std::is_same_v<T, msg::RecordFile>) {
                auto r = record(self, x.command);
                if (!r) return x.done(r.error());
                auto done = std::move(x.done);
                after_commits(
                    self, [done] { done(true); }, [done](const Error& e) { done(e); });
              } else if constexpr (std::is_same_v<T, msg::RetryLog>) {
                // handled above while log_failed; a late one after that is moot
              } else if constexpr (std::is_same_v<T, msg::Recover>) {
                recover(self, x.adopted);
              } else if constexpr (std::is_same_v<T, msg::Launch>) {
                on_durable(self, x.admitted);  // recorded by the fleet's creating commit
              } else if constexpr (std::is_same_v<T, msg::Pause>) {
                handle_pause(self, x);
              } else if constexpr (std::is_same_v<T, msg::Resume>) {
                auto ok = session::check_resume(st.s);
                if (!ok) return x.done(ok.error());
                if (*ok) start_resume(self, x.reason);
                x.done(committed_view(st.ctx, st.s.id));
              } else if constexpr (std::is_same_v<T, msg::Snapshot>) {
                handle_snapshot(self, x);
              } else if constexpr (std::is_same_v<T, msg::Create>) {
                // Admission first, then ONE batch: created + admitted (or queued). The slot is
                // held from the grant; the log still never shows more than the ceiling, since
                // the release that freed it followed its holder's torn-down submission, and
                // commits are FIFO.
                st.hex = to_hex(x.command.id);
                if (x.fork) {
                  // A fork child records its lineage before admission (session_forked needs a
                  // session not yet admitted), so it is created first and admitted after.
                  auto r = record(self, x.command);
                  if (r) r = record(self, *x.fork);
                  if (!r) {
                    x.done(r.error());
                    st.ctx->registry->erase(x.command.id);
                    st.done = true;
                    self->quit();
                    return;
                  }
                  auto done = std::move(x.done);
                  after_commits(
                      self,
                      [self, done] {
                        auto& st = self->state;
                        done(committed_view(st.ctx, st.s.id));
                        self->send(st.ctx->admission,
                                   msg::ToAdmission{msg::Enqueue{st.s.id, self, 0, st.s.org_id}});
                      },
                      [done](const Error& e) { done(e); });
                  return;
                }
                const std::string id = x.command.id, org = x.command.org_id;
                st.pending_create = std::move(x);
                self->send(st.ctx->admission, msg::ToAdmission{msg::Enqueue{id, self, 0, org}});
              }
            },
            m);
      },
  };
}

}  // namespace session_actor_detail

caf::actor spawn_session(caf::actor_system& sys, const Context* ctx, session::State initial,
                         caf::actor fleet) {
  return sys.spawn(session_actor_detail::session_actor, ctx, std::move(initial), std::move(fleet));
}

}  // namespace enclave
