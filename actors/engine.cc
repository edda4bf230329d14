#include "actors/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "actors/admission_actor.h"
#include "actors/context.h"
#include "actors/fleet_actor.h"
#include "actors/key_service.h"
#include "actors/messages.h"
#include "actors/metrics.h"
#include "actors/once_callback.h"
#include "actors/org_admin.h"
#include "actors/queued_quota.h"
#include "actors/reaper_actor.h"
#include "actors/session_actor.h"
#include "events/ids.h"
#include "events/session_request.h"
#include "events/storage_gate.h"
#include "events/views.h"
#include "storage/verify.h"

namespace enclave {

std::set<std::string> scopes_for_role(const std::string& role) {
  if (role == "owner")
    return {"sessions:read", "sessions:write", "audit:read", "admin", "metrics:read"};
  if (role == "member") return {"sessions:read", "sessions:write", "audit:read"};
  if (role == "viewer") return {"sessions:read", "audit:read"};
  if (role == "metrics") return {"metrics:read"};
  return {};
}

Principal default_principal() {
  return Principal{"anonymous", "default", "owner", scopes_for_role("owner")};
}

struct Engine::Impl {
  EngineConfig config;
  std::unique_ptr<storage::EventLog> log;
  std::unique_ptr<ReadModel> model_ptr;
  ReadModel& model() { return *model_ptr; }
  std::unique_ptr<storage::CommitQueue> commits;
  std::unique_ptr<KeyService> keys;
  Registry registry;
  std::unique_ptr<CredentialStore> creds;
  std::unique_ptr<QueuedQuota> queued_quota;  // orgs' max_queued, checked at create
  std::unique_ptr<backends::Backend> backend;
  std::string backend_name;
  std::unique_ptr<caf::actor_system_config> sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  Context ctx;
  // Backend events that arrive while open() recovers — an adopting backend reports what its
  // sandboxes did while the control plane was down before the session actors exist — wait here
  // and are delivered, in order, right after each actor got its Recover message.
  std::atomic<bool> recovering{true};
  std::mutex early_mu;
  std::vector<std::pair<std::string, backends::Event>> early;
  // The data dir's free bytes, re-read (statvfs) at most every kFreeSampleMs: the storage gate
  // asks on every create and turn.
  static constexpr int64_t kFreeSampleMs = 250;
  mutable std::mutex free_mu;
  mutable std::chrono::steady_clock::time_point free_at{};
  mutable std::optional<uint64_t> free_bytes;
  std::optional<uint64_t> sampled_free_bytes() const {
    std::lock_guard lock(free_mu);
    auto now = std::chrono::steady_clock::now();
    if (free_at == std::chrono::steady_clock::time_point{} ||
        now - free_at >= std::chrono::milliseconds(kFreeSampleMs)) {
      free_bytes = log->free_bytes();
      free_at = now;
    }
    return free_bytes;
  }
  // Refusal of new work for `org` on storage grounds (storage_gate), or nullopt.
  std::optional<Error> storage_refusal(const std::string& org) const {
    storage_gate::Figures f;
    f.log_writable = log->writable();
    f.free_bytes = sampled_free_bytes();
    f.min_free_bytes = config.min_free_disk_mb << 20;
    f.org_id = org;
    f.org_bytes = log->org_bytes(org);
    auto quota = config.org_storage_mb_for.find(org);
    f.org_quota_bytes =
        (quota == config.org_storage_mb_for.end() ? config.org_storage_mb : quota->second) << 20;
    return storage_gate::check(f);
  }
};

namespace {

Error not_found(const char* what = "session") {
  return make_error(ErrorCode::kNotFound, "not_found", std::string("no such ") + what);
}

Error forbidden(const std::string& scope) {
  return make_error(ErrorCode::kPermissionDenied, "permission_denied",
                    "this API key lacks the scope " + scope);
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Engine>> Engine::open(EngineConfig config, BackendFactory make_backend) {
  auto impl = std::make_unique<Impl>();
  auto* d = impl.get();
  d->config = config;
  auto log = storage::EventLog::open(config.data_dir, storage::OpenMode::kReadWrite);
  if (!log) return log.error();
  d->log = std::move(*log);
  auto creds = CredentialStore::open(config.data_dir, config.cred_secret);
  if (!creds) return creds.error();
  d->creds = std::move(*creds);

  // Load the read model's checkpoint and fold only the events after it.
  auto t0 = std::chrono::steady_clock::now();
  d->model_ptr = std::make_unique<ReadModel>(d->log.get());
  std::string warning;
  uint64_t from = d->model().load(&warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  auto scanned = d->log->scan_global(from + 1, [d](const storage::Stored& s) {
    d->model().apply(s);
    return true;
  });
  if (!scanned) return scanned.error();
  d->model().flush_snapshots();
  auto replay_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();

  d->commits = std::make_unique<storage::CommitQueue>(
      *d->log, [d](const std::vector<const storage::Stored*>& batch) {
        d->model().apply_committed(batch);
        d->model().maybe_checkpoint(false);
      });

  d->keys = std::make_unique<KeyService>(d->commits.get(), d->model_ptr.get(), config.clock);

  d->sys_cfg = std::make_unique<caf::actor_system_config>();
  d->sys_cfg->set("scheduler.max-threads", config.scheduler_threads);
  d->sys_cfg->set("scheduler.policy", caf::atom("sharing"));
  d->sys = std::make_unique<caf::actor_system>(*d->sys_cfg);

  d->backend = make_backend([d](const std::string& session_hex, backends::Event ev) {
    auto id = from_hex_id(session_hex);
    if (!id) return;
    if (d->recovering.load()) {
      std::lock_guard lock(d->early_mu);
      if (d->recovering.load()) {
        d->early.emplace_back(*id, std::move(ev));
        return;
      }
    }
    if (auto a = d->registry.get(*id))
      caf::anon_send(a, msg::ToSession{msg::FromBackend{std::move(ev)}});
  });
  d->backend_name = d->backend->name();

  d->ctx.log = d->log.get();
  d->ctx.commits = d->commits.get();
  d->ctx.model = d->model_ptr.get();
  d->ctx.registry = &d->registry;
  d->ctx.creds = d->creds.get();
  d->ctx.backend = d->backend.get();
  d->ctx.clock = config.clock;
  d->ctx.policy = config.policy;
  d->ctx.max_concurrency = config.max_concurrency;
  d->ctx.snapshots_dir = config.data_dir + "/snapshots";
  // Orgs' admission settings (`enclaved orgs set`, offline): weights and max_live for the
  // admission actor, max_queued for creates.
  auto org_state = orgs::load(*d->log);
  if (!org_state) return org_state.error();
  std::map<std::string, OrgLimits> org_limits;
  std::map<std::string, uint32_t> org_max_queued;
  for (const auto& [org, v] : org_state->by_org) {
    org_limits[org] = OrgLimits{v.weight, v.max_live};
    if (v.max_queued) org_max_queued[org] = v.max_queued;
  }
  d->queued_quota = std::make_unique<QueuedQuota>(
      std::move(org_max_queued), [d](const std::string& org) { return d->model().queued_in(org); });
  d->ctx.admission = spawn_admission(*d->sys, config.max_concurrency, std::move(org_limits));
  d->ctx.reaper = spawn_reaper(*d->sys, config.clock, config.reaper_tick_ms);

  // ---- recovery: every session that is not torn down gets its actor back -------------------
  auto live = d->model().live_sessions();
  std::set<std::string> keep;
  std::unordered_map<std::string, bool> adopted;
  std::vector<AdmissionQueue::Holder> active;
  uint64_t max_ticket = 0, max_grant = 0;
  for (const auto& s : live) {
    max_ticket = std::max(max_ticket, s.ticket);
    max_grant = std::max(max_grant, s.grant);
    if (!s.admitted) continue;
    active.push_back({s.id, s.org_id});
    bool ok = !s.ended() && d->backend->adopt(to_hex(s.id));
    adopted[s.id] = ok;
    if (ok) keep.insert(to_hex(s.id));
  }
  for (const auto& line : d->backend->cleanup_orphans(keep)) spdlog::info("cleanup: {}", line);
  caf::anon_send(d->ctx.admission,
                 msg::ToAdmission{msg::Restore{active, max_ticket + 1, max_grant + 1}});

  std::unordered_map<std::string, caf::actor> fleet_actors;
  for (auto& f : d->model().live_fleets()) {
    size_t n = 0;
    for (const auto& s : live) n += s.spec.fleet_id() == f.id;
    std::string id = f.id;
    auto a = spawn_fleet(*d->sys, &d->ctx, std::move(f), n);
    d->registry.put(id, a);
    fleet_actors[id] = a;
  }
  // Queued sessions re-enter their org's queue in ticket order (never-queued ones last, by
  // creation, with new tickets).
  std::vector<const session::State*> queued;
  for (const auto& s : live) {
    caf::actor fleet;
    if (auto it = fleet_actors.find(s.spec.fleet_id()); it != fleet_actors.end())
      fleet = it->second;
    auto a = spawn_session(*d->sys, &d->ctx, s, fleet);
    d->registry.put(s.id, a);
    if (s.admitted || s.ended() || s.paused()) {
      caf::anon_send(a, msg::ToSession{msg::Recover{adopted[s.id]}});
    } else {
      queued.push_back(&s);
    }
  }
  std::stable_sort(queued.begin(), queued.end(), [](auto* a, auto* b) {
    uint64_t ta = a->queue_recorded ? a->ticket : UINT64_MAX;
    uint64_t tb = b->queue_recorded ? b->ticket : UINT64_MAX;
    return ta < tb;
  });
  for (const auto* s : queued)
    caf::anon_send(d->ctx.admission,
                   msg::ToAdmission{msg::Enqueue{s->id, d->registry.get(s->id),
                                                 s->queue_recorded ? s->ticket : 0, s->org_id}});
  {
    std::lock_guard lock(d->early_mu);
    for (auto& [id, ev] : d->early)
      if (auto a = d->registry.get(id))
        caf::anon_send(a, msg::ToSession{msg::FromBackend{std::move(ev)}});
    d->early.clear();
    d->recovering = false;
  }
  spdlog::info(
      "engine open: checkpoint at global seq {}, {} events folded after it in {} ms; {} live "
      "sessions ({} holding a slot, {} re-attached, {} queued); backend {}",
      from, *scanned, replay_ms, live.size(), active.size(), keep.size(), queued.size(),
      d->backend_name);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::~Engine() {
  auto* d = impl_.get();
  d->backend->shutdown();
  for (auto& a : d->registry.all()) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d->ctx.admission, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d->ctx.reaper, caf::exit_reason::user_shutdown);
  d->ctx.admission = nullptr;
  d->ctx.reaper = nullptr;
  d->sys.reset();      // waits for every actor to finish
  d->commits.reset();  // commits what is pending
  d->model().maybe_checkpoint(true);
  d->backend.reset();
  if (d->config.on_close) d->config.on_close();
  d->log.reset();
}

const EngineConfig& Engine::config() const { return impl_->config; }
const storage::EventLog& Engine::event_log() const { return *impl_->log; }
std::optional<std::string> Engine::session_credential(const std::string& id) const {
  return impl_->creds->get(id);
}
const std::string& Engine::credential_secret() const { return impl_->creds->secret(); }
const std::string& Engine::backend_name() const { return impl_->backend_name; }
void Engine::reap_now() { caf::anon_send(impl_->ctx.reaper, msg::ToReaper{msg::Tick{false}}); }
Health Engine::health() const {
  if (impl_->log->writable()) return Health{};
  return Health{false, "log_unwritable", impl_->log->unwritable_reason()};
}
uint64_t Engine::org_stored_bytes(const std::string& org_id) const {
  return impl_->log->org_bytes(org_id);
}

// ---- lookups ----------------------------------------------------------------------------------

namespace {

Result<session::State> visible_session(const ReadModel& m, const Principal& p,
                                       const std::string& hex) {
  auto id = from_hex_id(hex);
  if (!id) return not_found();
  auto s = m.session(*id);
  if (!s || s->org_id != p.org_id) return not_found();
  return *s;
}

Result<fleet::State> visible_fleet(const ReadModel& m, const Principal& p, const std::string& hex,
                                   bool members = true) {
  auto id = from_hex_id(hex);
  if (!id) return not_found("fleet");
  auto f = m.fleet(*id, members);
  if (!f || f->org_id != p.org_id) return not_found("fleet");
  return *f;
}

}  // namespace

// ---- commands ---------------------------------------------------------------------------------

void Engine::create_session(const Principal& p, const api::CreateSessionRequest& req,
                            Callback<api::Session> done) {
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  RequestBounds bounds;
  bounds.egress = impl_->config.egress;
  auto spec = validate_session_request(req, bounds);
  if (!spec) return done(spec.error());
  auto* d = impl_.get();
  if (auto refused = d->storage_refusal(p.org_id)) return done(*refused);
  if (d->queued_quota->limited(p.org_id)) {
    if (auto refused = d->queued_quota->reserve(p.org_id, 1)) return done(*refused);
    done = [quota = d->queued_quota.get(), org = p.org_id,
            done = std::move(done)](Result<api::Session> r) {
      quota->release(org, 1);
      done(std::move(r));
    };
  }
  std::string id = new_stream_id();
  auto a = spawn_session(*d->sys, &d->ctx, session::State{}, caf::actor{});
  d->registry.put(id, a);
  caf::anon_send(
      a, msg::ToSession{msg::Create{session::Create{id, p.org_id, p.user_id, std::move(*spec)},
                                    std::move(done), std::nullopt}});
}

void Engine::exec(const Principal& p, const std::string& hex, const api::ExecRequest& req,
                  Callback<api::ExecTurnResult> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (req.code().empty())
    return done(
        make_error(ErrorCode::kInvalidArgument, "invalid_argument", "code is required", "code"));
  if (req.code().size() > RequestBounds{}.max_code_bytes)
    return done(
        make_error(ErrorCode::kInvalidArgument, "invalid_argument", "code is too large", "code"));
  if (req.has_timeout_ms() && (req.timeout_ms() <= 0 || req.timeout_ms() > 3'600'000))
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                           "timeoutMs must be 1..3600000", "timeoutMs"));
  auto ok = session::check_exec_or_resume(*s);  // a paused session is resumed by its exec
  if (!ok) return done(ok.error());
  if (auto refused = d->storage_refusal(p.org_id)) return done(*refused);
  auto a = d->registry.get(s->id);
  auto ended = [] {
    return Result<api::ExecTurnResult>(
        make_error(ErrorCode::kConflict, "session_not_running", "session has ended"));
  };
  if (!a) return done(ended());
  caf::anon_send(a, msg::ToSession{msg::Exec{
                        req, answered_once<api::ExecTurnResult>(std::move(done), ended)}});
}

void Engine::teardown_session(const Principal& p, const std::string& hex,
                              Callback<api::Session> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  auto a = d->registry.get(s->id);
  if (!a || s->torn_down) return done(views::session(*s));
  std::string id = s->id;
  auto current = [d, id]() -> Result<api::Session> {  // the actor quit first: it is torn down
    auto now = d->model().session(id);
    if (!now) return not_found();
    return views::session(*now);
  };
  caf::anon_send(
      a, msg::ToSession{msg::Kill{events::KILL_REASON_TORN_DOWN, "torn down by " + p.user_id,
                                  answered_once<api::Session>(std::move(done), current)}});
}

namespace {

Error not_on_backend(const std::string& backend) {
  return make_error(ErrorCode::kNotImplemented, "not_supported_on_backend",
                    "pause, resume and fork need checkpoints, which the " + backend +
                        " backend does not support (docs/PAUSE.md)");
}

}  // namespace

void Engine::pause_session(const Principal& p, const std::string& hex,
                           Callback<api::Session> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (auto ok = session::check_pause(*s); !ok) return done(ok.error());
  if (!d->backend->supports_checkpoint()) return done(not_on_backend(d->backend_name));
  auto a = d->registry.get(s->id);
  if (!a) return done(views::session(*s));
  auto current = [d, id = s->id]() -> Result<api::Session> {
    auto now = d->model().session(id);
    if (!now) return not_found();
    return views::session(*now);
  };
  caf::anon_send(
      a, msg::ToSession{msg::Pause{"api", answered_once<api::Session>(std::move(done), current)}});
}

void Engine::resume_session(const Principal& p, const std::string& hex,
                            Callback<api::Session> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (auto ok = session::check_resume(*s); !ok) return done(ok.error());
  if (auto refused = d->storage_refusal(p.org_id)) return done(*refused);
  auto a = d->registry.get(s->id);
  if (!a) return done(views::session(*s));
  auto current = [d, id = s->id]() -> Result<api::Session> {
    auto now = d->model().session(id);
    if (!now) return not_found();
    return views::session(*now);
  };
  caf::anon_send(
      a, msg::ToSession{msg::Resume{"api", answered_once<api::Session>(std::move(done), current)}});
}

void Engine::fork_session(const Principal& p, const std::string& hex, const api::ForkRequest& req,
                          Callback<api::ForkResponse> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  constexpr uint32_t kMaxForks = 100;
  if (req.count() < 1 || req.count() > kMaxForks)
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument", "count must be 1..100",
                           "count"));
  if (auto ok = session::check_fork(*s); !ok) return done(ok.error());
  if (!d->backend->supports_checkpoint()) return done(not_on_backend(d->backend_name));
  if (auto refused = d->storage_refusal(p.org_id)) return done(*refused);
  auto a = d->registry.get(s->id);
  auto gone = [] {
    return Result<msg::ForkSource>(
        make_error(ErrorCode::kConflict, "session_not_running", "session has ended"));
  };
  if (!a) return done(gone().error());
  const uint32_t n = req.count();
  const Principal who = p;
  auto on_snapshot = [d, n, who, done = std::move(done)](Result<msg::ForkSource> src) mutable {
    if (!src) return done(src.error());
    // Each child: its own session, created with its lineage, admitted like any session.
    struct Gather {
      std::mutex mu;
      std::vector<Result<api::Session>> got;
      size_t left;
      Callback<api::ForkResponse> done;
    };
    auto g = std::make_shared<Gather>();
    g->left = n;
    g->done = std::move(done);
    auto spec = src->spec;
    spec.clear_fleet_id();
    spec.clear_fleet_index();
    spec.clear_from_session();
    for (uint32_t i = 0; i < n; ++i) {
      std::string id = new_stream_id();
      auto child = spawn_session(*d->sys, &d->ctx, session::State{}, caf::actor{});
      d->registry.put(id, child);
      auto one = [g](Result<api::Session> r) {
        std::unique_lock lock(g->mu);
        g->got.push_back(std::move(r));
        if (--g->left > 0) return;
        api::ForkResponse out;
        for (auto& x : g->got) {
          if (!x) {
            auto e = x.error();
            lock.unlock();
            return g->done(e);
          }
          *out.add_sessions() = std::move(*x);
        }
        lock.unlock();
        g->done(std::move(out));
      };
      caf::anon_send(
          child, msg::ToSession{msg::Create{session::Create{id, who.org_id, who.user_id, spec}, one,
                                            src->from}});
    }
  };
  caf::anon_send(a, msg::ToSession{msg::Snapshot{
                        n, answered_once<msg::ForkSource>(std::move(on_snapshot), gone)}});
}

size_t Engine::pause_all_for_restart(std::chrono::milliseconds timeout) {
  auto* d = impl_.get();
  if (!d->backend->supports_checkpoint()) return 0;
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0, paused = 0;
  };
  auto w = std::make_shared<Wait>();
  for (const auto& s : d->model().live_sessions()) {
    if (!s.interactive() || s.phase != session::Phase::kRunning) continue;
    auto a = d->registry.get(s.id);
    if (!a) continue;
    {
      std::lock_guard lock(w->mu);
      ++w->left;
    }
    auto cb = [w](Result<api::Session> r) {
      std::lock_guard lock(w->mu);
      if (r && r->phase() == "paused") ++w->paused;
      --w->left;
      w->cv.notify_all();
    };
    caf::anon_send(a, msg::ToSession{msg::Pause{
                          "server_restart", answered_once<api::Session>(std::move(cb), [] {
                            return Result<api::Session>(make_error(
                                ErrorCode::kConflict, "session_not_running", "session ended"));
                          })}});
  }
  std::unique_lock lock(w->mu);
  w->cv.wait_for(lock, timeout, [&] { return w->left == 0; });
  return w->paused;
}

void Engine::create_fleet(const Principal& p, const api::CreateFleetRequest& req,
                          Callback<api::Fleet> done) {
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (req.members().empty())
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                           "a fleet needs at least one member", "members"));
  constexpr int kMaxMembers = 100'000;
  if (req.members_size() > kMaxMembers)
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                           "a fleet has at most 100000 members", "members"));
  if (req.name().size() > 200)
    return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                           "name is longer than 200 characters", "name"));
  msg::CreateFleet c;
  c.members.reserve(req.members_size());
  RequestBounds bounds;
  bounds.egress = impl_->config.egress;
  for (int i = 0; i < req.members_size(); ++i) {
    auto spec =
        validate_session_request(req.members(i), bounds, "members[" + std::to_string(i) + "].");
    if (!spec) return done(spec.error());
    // A member runs unattended: an interactive one would wait for turns nobody sends and hold
    // the fleet open until its idle TTL.
    if (spec->exec_mode() == events::EXEC_MODE_INTERACTIVE)
      return done(make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                             "fleet members are batch sessions; interactive is not allowed here",
                             "members[" + std::to_string(i) + "].execMode"));
    c.members.push_back(std::move(*spec));
  }
  auto* d = impl_.get();
  if (auto refused = d->storage_refusal(p.org_id)) return done(*refused);
  if (d->queued_quota->limited(p.org_id)) {
    uint64_t n = c.members.size();
    if (auto refused = d->queued_quota->reserve(p.org_id, n)) return done(*refused);
    done = [quota = d->queued_quota.get(), org = p.org_id, n,
            done = std::move(done)](Result<api::Fleet> r) {
      quota->release(org, n);
      done(std::move(r));
    };
  }
  c.id = new_stream_id();
  c.org_id = p.org_id;
  c.created_by = p.user_id;
  c.name = req.name();
  c.done = std::move(done);
  auto a = spawn_fleet(*d->sys, &d->ctx, fleet::State{}, 0);
  d->registry.put(c.id, a);
  caf::anon_send(a, msg::ToFleet{std::move(c)});
}

void Engine::teardown_fleet(const Principal& p, const std::string& hex, Callback<api::Fleet> done) {
  auto* d = impl_.get();
  auto f = visible_fleet(d->model(), p, hex);
  if (!f) return done(f.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  auto a = d->registry.get(f->id);
  if (!a) return done(views::fleet(*f));
  std::string id = f->id;
  auto current = [d, id]() -> Result<api::Fleet> {
    auto now = d->model().fleet(id);
    if (!now) return not_found("fleet");
    return views::fleet(*now);
  };
  caf::anon_send(
      a, msg::ToFleet{msg::TeardownFleet{answered_once<api::Fleet>(std::move(done), current)}});
}

// ---- reads ------------------------------------------------------------------------------------

Result<api::Session> Engine::get_session(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::session(*s);
}

Result<api::SessionList> Engine::list_sessions(const Principal& p, const ListQuery& q) const {
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  std::string fleet;
  if (!q.fleet_id.empty()) {
    auto id = from_hex_id(q.fleet_id);
    if (!id)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                        "fleetId is a 32-character hex id", "fleetId");
    fleet = *id;
  }
  static const std::set<std::string> phases = {"queued",    "starting", "running",
                                               "succeeded", "failed",   "killed"};
  if (!q.phase.empty() && !phases.count(q.phase))
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument",
                      "phase must be one of queued, starting, running, succeeded, failed, killed",
                      "phase");
  if (q.limit < 1 || q.limit > 1000)
    return make_error(ErrorCode::kInvalidArgument, "invalid_argument", "limit must be 1..1000",
                      "limit");
  uint64_t after = 0;
  if (!q.cursor.empty()) {
    bool digits = q.cursor.size() <= 19 && std::all_of(q.cursor.begin(), q.cursor.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
    if (!digits)
      return make_error(ErrorCode::kInvalidArgument, "invalid_argument", "cursor is not valid",
                        "cursor");
    after = std::stoull(q.cursor);
  }
  auto page = impl_->model().list_sessions(p.org_id, fleet, q.phase, after, q.limit);
  api::SessionList out;
  for (const auto& s : page.sessions) *out.add_sessions() = views::session(s);
  if (page.next_cursor) out.set_next_cursor(std::to_string(page.next_cursor));
  return out;
}

Result<api::SessionResult> Engine::get_result(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::result(*s);
}

Result<api::AuditTrail> Engine::get_audit(const Principal& p, const std::string& id) const {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return s.error();
  if (!p.has("audit:read")) return forbidden("audit:read");
  // The head first, then the events up to it: appends racing this read do not look like tamper.
  auto head = impl_->log->head(s->id).value_or(storage::StreamHead{});
  auto events = impl_->log->read_stream(s->id, 1, head.seq);
  if (!events) return events.error();
  api::AuditTrail out;
  for (const auto& e : *events) *out.add_events() = views::audit_event(e.envelope, to_hex(e.hash));
  auto check = storage::verify_chain(*events, head);
  auto* chain = out.mutable_chain();
  chain->set_verified(check.ok);
  chain->set_events(static_cast<uint32_t>(events->size()));
  chain->set_head_seq(static_cast<uint32_t>(head.seq));
  chain->set_head_hash(to_hex(head.hash));
  chain->set_problem(check.problem);
  return out;
}

Result<api::Fleet> Engine::get_fleet(const Principal& p, const std::string& id,
                                     bool members) const {
  auto f = visible_fleet(impl_->model(), p, id, members);
  if (!f) return f.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  return views::fleet(*f, members);
}

Result<api::FleetList> Engine::list_fleets(const Principal& p) const {
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  api::FleetList out;
  for (const auto& f : impl_->model().list_fleets(p.org_id)) *out.add_fleets() = views::fleet(f);
  return out;
}

// ---- live stream ------------------------------------------------------------------------------

Result<uint64_t> Engine::subscribe(const Principal& p, const std::string& id,
                                   std::function<void(const StreamItem&)> on_item) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, id);
  if (!s) return s.error();
  if (!p.has("audit:read")) return forbidden("audit:read");
  // Live items that arrive while the history is being sent are held back, then deduplicated by
  // seq, so the subscriber sees every audit event exactly once and in order.
  struct Gate {
    std::mutex mu;
    bool replaying = true;
    uint64_t last_seq = 0;
    bool ended = false;
    std::vector<StreamItem> held;
    std::function<void(const StreamItem&)> fn;
    void deliver(const StreamItem& item) {  // mu held
      if (ended) return;
      if (item.kind == StreamItem::Kind::kAudit) {
        if (item.audit.seq() <= last_seq) return;
        last_seq = item.audit.seq();
      }
      if (item.kind == StreamItem::Kind::kEnd) ended = true;
      fn(item);
    }
  };
  auto gate = std::make_shared<Gate>();
  gate->fn = std::move(on_item);
  uint64_t sub = d->model().subscribe(s->id, [gate](const StreamItem& item) {
    std::lock_guard lock(gate->mu);
    if (gate->replaying)
      gate->held.push_back(item);
    else
      gate->deliver(item);
  });
  auto history = d->log->read_stream(s->id);
  {
    std::lock_guard lock(gate->mu);
    bool torn_down = false;
    if (history) {
      for (const auto& e : *history) {
        StreamItem item;
        item.audit = views::audit_event(e.envelope, to_hex(e.hash));
        gate->deliver(item);
        torn_down |= e.envelope.payload_case() == events::Envelope::kSessionTornDown;
      }
    }
    for (const auto& item : gate->held) gate->deliver(item);
    gate->held.clear();
    gate->replaying = false;
    if (torn_down) gate->deliver(StreamItem{StreamItem::Kind::kEnd, {}, {}, {}, 0, {}, false});
  }
  return sub;
}

Result<uint64_t> Engine::subscribe_fleet(const Principal& p, const std::string& id,
                                         std::function<void(const StreamItem&)> on_item) {
  auto* d = impl_.get();
  auto f = visible_fleet(d->model(), p, id);
  if (!f) return f.error();
  if (!p.has("sessions:read")) return forbidden("sessions:read");
  // Deltas committed while the first view is being taken are held back and sent after it; each
  // carries absolute phases, so the subscriber's merged view ends equal to the fold.
  struct Gate {
    std::mutex mu;
    bool starting = true, ended = false;
    std::vector<StreamItem> held;
    std::function<void(const StreamItem&)> fn;
    void deliver(const StreamItem& item) {  // mu held
      if (ended) return;
      ended = item.kind == StreamItem::Kind::kEnd;
      fn(item);
    }
  };
  auto gate = std::make_shared<Gate>();
  gate->fn = std::move(on_item);
  uint64_t sub = d->model().subscribe_fleet(f->id, [gate](const StreamItem& item) {
    std::lock_guard lock(gate->mu);
    if (gate->starting)
      gate->held.push_back(item);
    else
      gate->deliver(item);
  });
  auto now = d->model().fleet(f->id).value_or(*f);
  std::lock_guard lock(gate->mu);
  StreamItem first;
  first.kind = StreamItem::Kind::kFleet;
  first.fleet = views::fleet(now);
  gate->deliver(first);
  for (const auto& item : gate->held) gate->deliver(item);
  gate->held.clear();
  gate->starting = false;
  if (fleet::aggregate(fleet::counts(now)) >= fleet::Phase::kCompleted)
    gate->deliver(StreamItem{StreamItem::Kind::kEnd, {}, {}, {}, 0, {}, false});
  return sub;
}

void Engine::unsubscribe(uint64_t subscription) { impl_->model().unsubscribe(subscription); }

// ---- auth and metrics -------------------------------------------------------------------------

std::optional<Principal> Engine::authenticate(std::string_view api_key) const {
  if (api_key.empty() || api_key.size() > 200) return std::nullopt;
  auto k = impl_->model().key_by_hash(api_keys::hash_secret(std::string(api_key)));
  if (!k) return std::nullopt;
  return Principal{"key:" + k->key_id, k->org_id, k->role, scopes_for_role(k->role)};
}

bool Engine::principal_live(const std::string& user_id) const { return impl_->keys->live(user_id); }

void Engine::create_key(const Principal& p, const api::CreateKeyRequest& req,
                        Callback<api::CreatedApiKey> done) {
  impl_->keys->create(p, req, std::move(done));
}

Result<api::ApiKeyList> Engine::list_keys(const Principal& p) const { return impl_->keys->list(p); }

void Engine::revoke_key(const Principal& p, const std::string& key_id, Callback<api::ApiKey> done) {
  impl_->keys->revoke(p, key_id, std::move(done));
}

std::string Engine::metrics_text() const {
  auto* d = impl_.get();
  MetricsInputs in;
  in.counters = d->model().counters();
  in.max_concurrency = d->config.max_concurrency;
  in.live_actors = d->registry.size();
  in.log_bytes = d->log->bytes_appended();
  in.log_batches = d->commits->batches();
  in.log_submissions = d->commits->submissions();
  in.log_latency = d->commits->latency();
  in.pool_idle = d->backend->idle_pool_size();
  in.backend = d->backend_name;
  return render_metrics(in);
}

}  // namespace enclave
