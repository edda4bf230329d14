#include "events/session.h"

#include <algorithm>

#include "events/codec/sha256.h"

namespace enclave::session {

using events::Envelope;
using events::KillReason;

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::kQueued:
      return "queued";
    case Phase::kStarting:
      return "starting";
    case Phase::kRunning:
      return "running";
    case Phase::kSucceeded:
      return "succeeded";
    case Phase::kFailed:
      return "failed";
    case Phase::kKilled:
      return "killed";
    case Phase::kPaused:
      return "paused";
  }
  return "unknown";
}

const char* kill_reason_name(KillReason r) {
  switch (r) {
    case events::KILL_REASON_WALL_CLOCK_EXCEEDED:
      return "wall_clock_exceeded";
    case events::KILL_REASON_IDLE_TIMEOUT:
      return "idle_timeout";
    case events::KILL_REASON_LIFETIME_EXCEEDED:
      return "lifetime_exceeded";
    case events::KILL_REASON_TURN_BUDGET_EXCEEDED:
      return "turn_budget_exceeded";
    case events::KILL_REASON_MEMORY_EXCEEDED:
      return "memory_exceeded";
    case events::KILL_REASON_PIDS_EXCEEDED:
      return "pids_exceeded";
    case events::KILL_REASON_EGRESS_DENIED:
      return "egress_denied";
    case events::KILL_REASON_TORN_DOWN:
      return "torn_down";
    case events::KILL_REASON_SANDBOX_ERROR:
      return "sandbox_error";
    case events::KILL_REASON_PAUSED_EXPIRED:
      return "paused_expired";
    default:
      return "";
  }
}

bool is_terminal(Phase p) {
  return p == Phase::kSucceeded || p == Phase::kFailed || p == Phase::kKilled;
}

const char* event_type(const Envelope& e) {
  switch (e.payload_case()) {
    case Envelope::kSessionCreated:
      return "session_created";
    case Envelope::kSessionQueued:
      return "session_queued";
    case Envelope::kSessionAdmitted:
      return "session_admitted";
    case Envelope::kSandboxStarted:
      return "sandbox_started";
    case Envelope::kExecTurn:
      return "exec_turn";
    case Envelope::kEgressDenied:
      return "egress_denied";
    case Envelope::kQuotaKilled:
      return "quota_killed";
    case Envelope::kWorkloadExited:
      return "workload_exited";
    case Envelope::kUsageMetered:
      return "usage_metered";
    case Envelope::kSessionTornDown:
      return "session_torn_down";
    case Envelope::kTeardownIncomplete:
      return "teardown_incomplete";
    case Envelope::kEgressAllowed:
      return "egress_allowed";
    case Envelope::kCpuMetered:
      return "cpu_metered";
    case Envelope::kSessionPaused:
      return "session_paused";
    case Envelope::kSessionResumed:
      return "session_resumed";
    case Envelope::kSnapshotTaken:
      return "snapshot_taken";
    case Envelope::kSessionForked:
      return "session_forked";
    case Envelope::kFleetCreated:
      return "fleet_created";
    case Envelope::kFleetTornDown:
      return "fleet_torn_down";
    case Envelope::kApiKeyCreated:
      return "api_key_created";
    case Envelope::kApiKeyRevoked:
      return "api_key_revoked";
    case Envelope::kOrgSettingsSet:
      return "org_settings_set";
    case Envelope::kSecretSet:
      return "secret_set";
    case Envelope::kSecretDeleted:
      return "secret_deleted";
    case Envelope::kSecretUsed:
      return "secret_used";
    case Envelope::kFileWritten:
      return "file_written";
    case Envelope::kFileRead:
      return "file_read";
    case Envelope::kArtifactCollected:
      return "artifact_collected";
    case Envelope::PAYLOAD_NOT_SET:
      break;
  }
  return "unknown";
}

namespace {

// Builds the envelopes of one decision: consecutive seqs after the state's head.
class Batch {
 public:
  Batch(const State& s, TimeMs now) : s_(s), now_(now) {}
  Envelope& add() {
    Envelope& e = out_.emplace_back();
    e.set_stream(s_.id);
    e.set_seq(s_.last_seq + out_.size());
    e.set_at_ms(now_);
    e.set_org_id(s_.org_id);
    return e;
  }
  std::vector<Envelope> take() { return std::move(out_); }

 private:
  const State& s_;
  TimeMs now_;
  std::vector<Envelope> out_;
};

Error not_found() { return make_error(ErrorCode::kNotFound, "not_found", "no such session"); }

Error not_running(const State& s) {
  return make_error(ErrorCode::kConflict, "session_not_running",
                    std::string("session is ") + phase_name(s.phase) +
                        (s.ended() ? "; it has ended" : "; it is not running yet"));
}

}  // namespace

Result<uint32_t> check_exec(const State& s) {
  if (!s.exists) return not_found();
  if (!s.interactive())
    return make_error(ErrorCode::kConflict, "session_not_interactive",
                      "exec needs a session created with execMode \"interactive\"");
  if (s.phase != Phase::kRunning) return not_running(s);
  return s.turns + 1;
}

Result<uint32_t> check_exec_or_resume(const State& s) {
  if (s.exists && s.interactive() && s.paused()) return s.turns + 1;
  return check_exec(s);
}

namespace {
Error not_interactive(const char* what) {
  return make_error(ErrorCode::kConflict, "session_not_interactive",
                    std::string(what) + " needs a session created with execMode \"interactive\"");
}
}  // namespace

Result<bool> check_pause(const State& s) {
  if (!s.exists) return not_found();
  if (!s.interactive()) return not_interactive("pause");
  if (s.paused()) return false;
  if (s.phase != Phase::kRunning) return not_running(s);
  return true;
}

Result<bool> check_resume(const State& s) {
  if (!s.exists) return not_found();
  if (!s.interactive()) return not_interactive("resume");
  if (s.paused()) return true;
  if (s.phase == Phase::kRunning || s.phase == Phase::kStarting) return false;
  return not_running(s);
}

Result<bool> check_fork(const State& s) {
  if (!s.exists) return not_found();
  if (!s.interactive()) return not_interactive("fork");
  if (s.paused() || s.phase == Phase::kRunning) return true;
  return not_running(s);
}

bool pauses_on_idle(const State& s, const Policy& policy) {
  if (!s.interactive()) return false;
  if (s.spec.on_idle() == "pause") return true;
  if (s.spec.on_idle() == "kill") return false;
  return policy.pause_on_idle;
}

uint64_t charged_ms(uint64_t turn_ms_total, uint64_t cpu_ms) {
  return std::max(turn_ms_total, cpu_ms);
}

bool settled(const State& s) { return s.exists && s.ended() && (s.exited || s.torn_down); }

std::optional<KillReason> due_kill(const State& s, TimeMs now, const Policy& p) {
  if (!s.exists || s.ended()) return std::nullopt;
  if (s.phase == Phase::kStarting && s.admitted_at_ms + p.start_timeout_ms <= now)
    return events::KILL_REASON_SANDBOX_ERROR;
  if (s.paused() && s.paused_at_ms + p.paused_max_ms <= now)
    return events::KILL_REASON_PAUSED_EXPIRED;
  if (s.phase != Phase::kRunning) return std::nullopt;
  if (!s.interactive()) {
    if (s.started_at_ms + TimeMs{s.spec.limits().wall_clock_seconds()} * 1000 <= now)
      return events::KILL_REASON_WALL_CLOCK_EXCEEDED;
    return std::nullopt;
  }
  if (s.started_at_ms + s.paused_ms_total + p.max_lifetime_ms <= now)
    return events::KILL_REASON_LIFETIME_EXCEEDED;
  if (s.last_activity_ms + p.idle_ttl_ms <= now) return events::KILL_REASON_IDLE_TIMEOUT;
  return std::nullopt;
}

std::optional<TimeMs> next_deadline(const State& s, const Policy& p) {
  if (!s.exists || s.ended()) return std::nullopt;
  if (s.phase == Phase::kStarting) return s.admitted_at_ms + p.start_timeout_ms;
  if (s.paused()) return s.paused_at_ms + p.paused_max_ms;
  if (s.phase != Phase::kRunning) return std::nullopt;
  if (!s.interactive())
    return s.started_at_ms + TimeMs{s.spec.limits().wall_clock_seconds()} * 1000;
  return std::min(s.started_at_ms + s.paused_ms_total + p.max_lifetime_ms,
                  s.last_activity_ms + p.idle_ttl_ms);
}

namespace {

void add_kill(Batch& b, KillReason reason, const std::string& detail) {
  auto* k = b.add().mutable_quota_killed();
  k->set_reason(reason);
  k->set_detail(detail);
}

// turn_budget_exceeded, with both figures of the meter in the detail and the event.
void add_budget_kill(Batch& b, uint64_t turn_ms_total, uint64_t cpu_ms, uint64_t budget_ms) {
  auto* k = b.add().mutable_quota_killed();
  k->set_reason(events::KILL_REASON_TURN_BUDGET_EXCEEDED);
  k->set_detail("cumulative turn time " + std::to_string(charged_ms(turn_ms_total, cpu_ms)) +
                " ms exceeds " + std::to_string(budget_ms) + " ms (turns " +
                std::to_string(turn_ms_total) + " ms wall, sandbox CPU " + std::to_string(cpu_ms) +
                " ms)");
  k->set_turn_ms_total(turn_ms_total);
  k->set_cpu_ms(cpu_ms);
}

Result<std::vector<Envelope>> decide_kill(const State& s, const Kill& k, TimeMs now) {
  Batch b(s, now);
  if (s.ended() || s.torn_down) return b.take();  // idempotent: already over
  add_kill(b, k.reason, k.detail);
  // Nothing was ever launched: there is no sandbox to wait for, so it is gone at once.
  if (s.phase == Phase::kQueued) b.add().mutable_session_torn_down()->set_detail("never started");
  // Paused: its sandbox is already gone (only the image is left, removed by the actor).
  if (s.paused()) b.add().mutable_session_torn_down()->set_detail("paused: no sandbox");
  return b.take();
}

}  // namespace

Result<std::vector<Envelope>> decide(const State& s, const Command& c, TimeMs now,
                                     const Policy& policy) {
  Batch b(s, now);
  if (auto* cr = std::get_if<Create>(&c)) {
    if (s.exists)
      return make_error(ErrorCode::kConflict, "already_exists", "session exists already");
    State fresh;
    fresh.id = cr->id;
    fresh.org_id = cr->org_id;
    Batch fb(fresh, now);
    auto* ev = fb.add().mutable_session_created();
    ev->set_org_id(cr->org_id);
    ev->set_created_by(cr->created_by);
    *ev->mutable_spec() = cr->spec;
    // What the request stages into /home/user is data the session was given: audited like an
    // upload, in the creating commit (before any code can run).
    for (const auto& f : cr->spec.files()) {
      auto* w = fb.add().mutable_file_written();
      w->set_path(f.path());
      w->set_size(f.content().size());
      w->set_sha256(sha256_hex(f.content()));
      w->set_via("request");
    }
    auto created = fb.take();
    if (std::holds_alternative<std::monostate>(cr->admission)) return created;
    // The admission answer is decided against the state the creation leaves, exactly as if it
    // came one commit later: the same events, the same checks, in the same batch.
    State after = fresh;
    for (const auto& e : created) after = apply(after, e);
    auto rest = std::visit(
        [&](const auto& a) -> Result<std::vector<Envelope>> {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, std::monostate>) {
            return std::vector<Envelope>{};
          } else {
            return decide(after, Command{a}, now, policy);
          }
        },
        cr->admission);
    if (!rest) return rest.error();
    for (auto& e : rest.value()) created.push_back(std::move(e));
    return created;
  }
  if (!s.exists) return not_found();

  return std::visit(
      [&](const auto& cmd) -> Result<std::vector<Envelope>> {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, Create>) {
          return b.take();  // handled above
        } else if constexpr (std::is_same_v<T, RecordQueued>) {
          const bool waiting = s.phase == Phase::kQueued || (s.paused() && s.restore_on_admit);
          if (!waiting || s.admitted || s.queue_recorded) return b.take();
          auto* q = b.add().mutable_session_queued();
          q->set_queued(cmd.queued);
          q->set_max_concurrency(cmd.max_concurrency);
          q->set_ticket(cmd.ticket);
          if (cmd.org_queued) q->set_org_queued(cmd.org_queued);
          return b.take();
        } else if constexpr (std::is_same_v<T, Admit>) {
          const bool waiting = s.phase == Phase::kQueued || (s.paused() && s.restore_on_admit);
          if (!waiting || s.admitted)
            return make_error(ErrorCode::kConflict, "not_queued",
                              std::string("cannot admit a session that is ") + phase_name(s.phase));
          auto* a = b.add().mutable_session_admitted();
          a->set_active(cmd.active);
          a->set_max_concurrency(cmd.max_concurrency);
          a->set_ticket(cmd.ticket);
          a->set_grant(cmd.grant);
          return b.take();
        } else if constexpr (std::is_same_v<T, SandboxUp>) {
          bool fresh_start = s.phase == Phase::kStarting;
          bool reattach = cmd.reattached && s.phase == Phase::kRunning;
          if (!fresh_start && !reattach) return b.take();
          if (fresh_start && s.paused_at_ms != 0) {  // a paused session restored
            auto* r = b.add().mutable_session_resumed();
            r->set_snapshot_id(s.snapshot_id);
            r->set_reason(cmd.resume_reason.empty() ? "api" : cmd.resume_reason);
            r->set_container_id(cmd.container_id);
            return b.take();
          }
          auto* st = b.add().mutable_sandbox_started();
          st->set_backend(cmd.backend);
          st->set_reattached(cmd.reattached);
          if (!cmd.container_id.empty()) st->set_container_id(cmd.container_id);
          return b.take();
        } else if constexpr (std::is_same_v<T, CompleteTurn>) {
          if (s.phase != Phase::kRunning || !s.interactive()) return b.take();
          if (cmd.turn.turn() != s.turns + 1)
            return make_error(ErrorCode::kConflict, "turn_out_of_order",
                              "turn " + std::to_string(cmd.turn.turn()) + " completed, expected " +
                                  std::to_string(s.turns + 1));
          auto& t = *b.add().mutable_exec_turn() = cmd.turn;
          t.set_metered_ms(std::max<uint64_t>(t.duration_ms(), 1));
          if (t.cpu_ms()) t.set_cpu_ms(t.cpu_ms() + s.cpu_offset_ms);  // a restored sandbox's 0
          const uint64_t turn_total = s.turn_ms_total + t.metered_ms();
          const uint64_t cpu = std::max(s.cpu_ms, t.cpu_ms());
          if (t.timed_out() && !t.interrupted())
            add_kill(b, events::KILL_REASON_WALL_CLOCK_EXCEEDED,
                     "turn " + std::to_string(t.turn()) +
                         " exceeded its timeout and did not stop when interrupted");
          else if (charged_ms(turn_total, cpu) > policy.max_cumulative_ms)
            add_budget_kill(b, turn_total, cpu, policy.max_cumulative_ms);
          return b.take();
        } else if constexpr (std::is_same_v<T, DenyEgress>) {
          auto* d = b.add().mutable_egress_denied();
          d->set_host(cmd.host);
          d->set_port(cmd.port);
          d->set_ip(cmd.ip);
          d->set_reason(cmd.reason);
          if (s.spec.egress().kill_on_denied() && !s.ended())
            add_kill(b, events::KILL_REASON_EGRESS_DENIED,
                     "connection to " + cmd.host + ":" + std::to_string(cmd.port) + " denied");
          return b.take();
        } else if constexpr (std::is_same_v<T, UseSecret>) {
          // Only for a secret the session names (the proxy knows no other; a log is no proof).
          const auto& names = s.spec.secrets();
          if (std::find(names.begin(), names.end(), cmd.use.name()) != names.end())
            *b.add().mutable_secret_used() = cmd.use;
          return b.take();
        } else if constexpr (std::is_same_v<T, AllowEgress>) {
          auto* a = b.add().mutable_egress_allowed();
          a->set_host(cmd.host);
          a->set_port(cmd.port);
          a->set_ip(cmd.ip);
          return b.take();
        } else if constexpr (std::is_same_v<T, Kill>) {
          return decide_kill(s, cmd, now);
        } else if constexpr (std::is_same_v<T, Reap>) {
          auto reason = due_kill(s, now, policy);
          if (!reason) return b.take();
          return decide_kill(s, Kill{*reason, std::string("reaper: ") + kill_reason_name(*reason)},
                             now);
        } else if constexpr (std::is_same_v<T, Exit>) {
          if (s.exited || s.torn_down) return b.take();
          if (cmd.exit.observed() != events::KILL_REASON_NONE && !s.ended())
            add_kill(b, cmd.exit.observed(), cmd.exit.detail());
          for (const auto& a : cmd.artifacts) *b.add().mutable_artifact_collected() = a;
          *b.add().mutable_workload_exited() = cmd.exit;
          return b.take();
        } else if constexpr (std::is_same_v<T, RecordFile>) {
          if (s.torn_down) return not_running(s);
          if (const auto* w = std::get_if<events::FileWritten>(&cmd.access))
            *b.add().mutable_file_written() = *w;
          else
            *b.add().mutable_file_read() = std::get<events::FileRead>(cmd.access);
          return b.take();
        } else if constexpr (std::is_same_v<T, Meter>) {
          if (s.usage_recorded) return b.take();
          *b.add().mutable_usage_metered() = cmd.usage;
          return b.take();
        } else if constexpr (std::is_same_v<T, MeterCpu>) {
          // Only a live interactive session is metered, and only a rising figure counts. A
          // restored sandbox measures from 0: what was recorded before it is added.
          const uint64_t cpu = cmd.cpu_ms + s.cpu_offset_ms;
          if (s.phase != Phase::kRunning || !s.interactive() || cpu <= s.cpu_ms) return b.take();
          const bool over = charged_ms(s.turn_ms_total, cpu) > policy.max_cumulative_ms;
          if (!over && cpu < s.cpu_ms + std::max<uint64_t>(policy.cpu_record_step_ms, 1))
            return b.take();
          b.add().mutable_cpu_metered()->set_cpu_ms(cpu);
          if (over) add_budget_kill(b, s.turn_ms_total, cpu, policy.max_cumulative_ms);
          return b.take();
        } else if constexpr (std::is_same_v<T, Paused>) {
          if (s.phase != Phase::kRunning || !s.interactive()) return b.take();
          auto* p = b.add().mutable_session_paused();
          p->set_snapshot_id(cmd.snapshot_id);
          p->set_bytes(cmd.bytes);
          p->set_sha256(cmd.sha256);
          p->set_duration_ms(cmd.duration_ms);
          p->set_reason(cmd.reason);
          return b.take();
        } else if constexpr (std::is_same_v<T, TakeSnapshot>) {
          if (s.phase != Phase::kRunning && !s.paused()) return b.take();
          auto* t = b.add().mutable_snapshot_taken();
          t->set_snapshot_id(cmd.snapshot_id);
          t->set_bytes(cmd.bytes);
          t->set_sha256(cmd.sha256);
          t->set_duration_ms(cmd.duration_ms);
          t->set_forks(cmd.forks);
          return b.take();
        } else if constexpr (std::is_same_v<T, ForkFrom>) {
          if (s.phase != Phase::kQueued || s.admitted || !s.forked_from.empty() || !s.interactive())
            return make_error(ErrorCode::kConflict, "not_forkable",
                              "only a new interactive session can start as a fork");
          auto* f = b.add().mutable_session_forked();
          f->set_from(cmd.from);
          f->set_snapshot_id(cmd.snapshot_id);
          f->set_sha256(cmd.sha256);
          f->set_bytes(cmd.bytes);
          return b.take();
        } else if constexpr (std::is_same_v<T, TearDown>) {
          if (s.torn_down) return b.take();
          if (!s.ended()) add_kill(b, events::KILL_REASON_TORN_DOWN, cmd.detail);
          if (!cmd.left.empty()) {
            // Each distinct leftover is a fact once; a retry that leaves the same thing adds none.
            if (cmd.left != s.teardown_incomplete) {
              auto* ti = b.add().mutable_teardown_incomplete();
              ti->set_what(cmd.left);
              ti->set_attempt(s.teardown_attempts + 1);
            }
            return b.take();
          }
          b.add().mutable_session_torn_down()->set_detail(cmd.detail);
          return b.take();
        }
      },
      c);
}

State apply(State s, const Envelope& e) {
  apply_into(s, e);
  return s;
}

void apply_into(State& s, const Envelope& e) {
  if (e.payload_case() != Envelope::kSessionCreated && !s.exists) return;
  s.last_seq = e.seq();
  const TimeMs at = e.at_ms();
  switch (e.payload_case()) {
    case Envelope::kSessionCreated: {
      const auto& c = e.session_created();
      s = State{};
      s.exists = true;
      s.id = e.stream();
      s.last_seq = e.seq();
      s.org_id = c.org_id();
      s.created_by = c.created_by();
      s.spec = c.spec();
      s.phase = Phase::kQueued;
      s.created_at_ms = at;
      break;
    }
    case Envelope::kSessionQueued:
      s.queue_recorded = true;
      s.ticket = e.session_queued().ticket();
      break;
    case Envelope::kSessionAdmitted:
      if (s.phase == Phase::kQueued || s.paused()) {
        s.phase = Phase::kStarting;
        s.admitted = true;
        s.admitted_at_ms = at;
        s.ticket = e.session_admitted().ticket();
        s.grant = e.session_admitted().grant();
      }
      break;
    case Envelope::kSandboxStarted:
      if (!e.sandbox_started().container_id().empty())
        s.container_id = e.sandbox_started().container_id();
      if (s.phase == Phase::kStarting) {
        s.phase = Phase::kRunning;
        s.started_at_ms = at;
        s.last_activity_ms = at;
        s.restore_on_admit = false;
      }
      break;
    case Envelope::kSessionPaused: {
      const auto& p = e.session_paused();
      if (s.phase != Phase::kRunning) break;
      s.phase = Phase::kPaused;
      s.paused_at_ms = at;
      s.admitted = false;  // the slot is given back; a resume goes through admission again
      s.queue_recorded = false;
      s.container_id.clear();
      s.snapshot_id = p.snapshot_id();
      s.snapshot_sha256 = p.sha256();
      s.snapshot_bytes = p.bytes();
      s.snapshot_taken_at_ms = at;
      s.restore_on_admit = true;
      s.pause_reason = p.reason();
      break;
    }
    case Envelope::kSessionResumed:
      if (s.phase != Phase::kStarting) break;
      s.phase = Phase::kRunning;
      if (s.paused_at_ms && at > s.paused_at_ms) s.paused_ms_total += at - s.paused_at_ms;
      s.paused_at_ms = 0;
      s.restore_on_admit = false;
      s.last_activity_ms = at;
      s.cpu_offset_ms = s.cpu_ms;
      if (!e.session_resumed().container_id().empty())
        s.container_id = e.session_resumed().container_id();
      break;
    case Envelope::kSnapshotTaken: {
      const auto& t = e.snapshot_taken();
      s.snapshot_id = t.snapshot_id();
      s.snapshot_sha256 = t.sha256();
      s.snapshot_bytes = t.bytes();
      s.snapshot_taken_at_ms = at;
      break;
    }
    case Envelope::kSessionForked: {
      const auto& f = e.session_forked();
      if (s.phase != Phase::kQueued) break;
      s.forked_from = f.from();
      s.snapshot_id = f.snapshot_id();
      s.snapshot_sha256 = f.sha256();
      s.snapshot_bytes = f.bytes();
      s.restore_on_admit = true;
      break;
    }
    case Envelope::kExecTurn: {
      const auto& t = e.exec_turn();
      s.turns = t.turn();
      s.turn_ms_total += std::max<uint64_t>(t.metered_ms(), 1);
      s.cpu_ms = std::max(s.cpu_ms, t.cpu_ms());
      s.last_activity_ms = at;
      break;
    }
    case Envelope::kCpuMetered:
      s.cpu_ms = std::max(s.cpu_ms, e.cpu_metered().cpu_ms());
      break;
    case Envelope::kEgressDenied:
      s.egress_denied++;
      break;
    case Envelope::kEgressAllowed:
      s.egress_allowed++;
      break;
    case Envelope::kQuotaKilled:
      if (!s.ended()) {
        s.phase = Phase::kKilled;
        s.kill_reason = e.quota_killed().reason();
        s.kill_detail = e.quota_killed().detail();
        s.ended_at_ms = at;
      }
      break;
    case Envelope::kWorkloadExited: {
      const auto& x = e.workload_exited();
      s.exited = true;
      s.exit_code = x.exit_code();
      s.stdout_text = x.stdout();
      s.stderr_text = x.stderr();
      s.json = x.json();
      s.stdout_truncated = x.stdout_truncated();
      s.stderr_truncated = x.stderr_truncated();
      s.exit_detail = x.detail();
      if (!s.ended()) {
        s.phase = x.exit_code() == 0 ? Phase::kSucceeded : Phase::kFailed;
        s.ended_at_ms = at;
      }
      break;
    }
    case Envelope::kUsageMetered:
      s.usage_recorded = true;
      s.usage = e.usage_metered();
      break;
    case Envelope::kTeardownIncomplete:
      s.teardown_incomplete = e.teardown_incomplete().what();
      s.teardown_attempts = e.teardown_incomplete().attempt();
      break;
    case Envelope::kSessionTornDown:
      s.torn_down = true;
      s.teardown_incomplete.clear();
      if (!s.ended()) {
        s.phase = Phase::kKilled;
        s.kill_reason = events::KILL_REASON_TORN_DOWN;
        s.ended_at_ms = at;
      }
      break;
    default:
      break;
  }
}

}  // namespace enclave::session
