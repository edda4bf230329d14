// The facade's life and commands: open (log, read model, actors, recovery), close, and each
// command checked (scope, request validation, storage, quotas) and handed to its actor. Reads,
// live streams, auth and metrics are in engine_reads.cc; the parts in engine_impl.h.
#include "actors/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "actors/admission_actor.h"
#include "actors/engine_impl.h"
#include "actors/fleet_actor.h"
#include "actors/fleet_forks.h"
#include "actors/messages.h"
#include "actors/once_callback.h"
#include "actors/org_admin.h"
#include "actors/reaper_actor.h"
#include "actors/secret_service.h"
#include "actors/session_actor.h"
#include "actors/session_wait.h"
#include "actors/visibility.h"
#include "events/crypto/secret_crypto.h"
#include "events/ids.h"
#include "events/requests/session_request.h"
#include "events/views/api_views.h"

namespace enclave {

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Engine>> Engine::open(EngineConfig config, BackendFactory make_backend) {
  auto impl = std::make_unique<Impl>();
  auto* d = impl.get();
  d->config = config;
  const std::string& log_dir = config.log_dir.empty() ? config.data_dir : config.log_dir;
  auto log = storage::EventLog::open(log_dir, storage::OpenMode::kReadWrite);
  if (!log) return log.error();
  d->log = std::move(*log);
  if (config.log_store) {  // the store of record: take what it has that this copy lacks
    d->log->set_store(config.log_store.get());
    auto caught = d->log->catch_up_from(*config.log_store);
    if (!caught) return caught.error();
    if (*caught) spdlog::info("event log: {} events taken from the store of record", *caught);
  }
  auto creds = CredentialStore::open(config.data_dir, config.cred_secret);
  if (!creds) return creds.error();
  d->creds = std::move(*creds);
  d->storage = std::make_unique<StorageCheck>(d->log.get(), &d->config);

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
  d->secrets = std::make_unique<SecretService>(d->commits.get(), config.clock,
                                               secrets::derive_key(d->creds->secret()));
  if (auto loaded = d->secrets->load(*d->log); !loaded) return loaded.error();

  d->sys_cfg = std::make_unique<caf::actor_system_config>();
  d->sys_cfg->set("scheduler.max-threads", config.scheduler_threads);
  d->sys_cfg->set("scheduler.policy", caf::atom("sharing"));
  d->sys = std::make_unique<caf::actor_system>(*d->sys_cfg);

  d->backend = make_backend([d](const std::string& session_hex, backends::Event ev) {
    auto id = from_hex_id(session_hex);
    if (!id) return;
    if (d->early.hold(*id, ev)) return;
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
  d->ctx.secrets = d->secrets.get();
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
  d->wait_timer =
      spawn_wait_timer(*d->sys, d->model_ptr.get(), config.clock, config.reaper_tick_ms);

  auto found = recover(*d->sys, d->ctx, d->early);
  spdlog::info(
      "engine open: checkpoint at global seq {}, {} events folded after it in {} ms; {} live "
      "sessions ({} holding a slot, {} re-attached, {} queued); backend {}",
      from, *scanned, replay_ms, found.live, found.holding_slot, found.reattached, found.queued,
      d->backend_name);
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::~Engine() {
  auto* d = impl_.get();
  d->backend->shutdown();
  for (auto& a : d->registry.all()) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d->ctx.admission, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d->ctx.reaper, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d->wait_timer, caf::exit_reason::user_shutdown);
  d->wait_timer = nullptr;
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
void Engine::reap_now() {
  caf::anon_send(impl_->ctx.reaper, msg::ToReaper{msg::Tick{false}});
  caf::anon_send(impl_->wait_timer, WaitTick{false});
}
Health Engine::health() const {
  if (impl_->log->writable()) return Health{};
  return Health{false, "log_unwritable", impl_->log->unwritable_reason()};
}
uint64_t Engine::org_stored_bytes(const std::string& org_id) const {
  return impl_->log->org_bytes(org_id);
}

// ---- commands ---------------------------------------------------------------------------------

void Engine::create_session(const Principal& p, const api::CreateSessionRequest& req,
                            Callback<api::Session> done) {
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  RequestBounds bounds;
  bounds.max_disk_mb = impl_->config.max_disk_mb;
  bounds.egress = impl_->config.egress;
  bounds.images = image_catalog(impl_->config);
  auto spec = validate_session_request(req, bounds);
  if (!spec) return done(spec.error());
  auto* d = impl_.get();
  if (auto e = d->secrets->check_session(p.org_id, *spec, "")) return done(*e);
  if (auto refused = d->storage->refusal(p.org_id)) return done(*refused);
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
                  Callback<api::ExecTurnResult> done, OnOutput on_output) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (auto valid = validate_exec_request(req); !valid) return done(valid.error());
  auto ok = session::check_exec_or_resume(*s);  // a paused session is resumed by its exec
  if (!ok) return done(ok.error());
  if (auto refused = d->storage->refusal(p.org_id)) return done(*refused);
  auto a = d->registry.get(s->id);
  auto ended = [] {
    return Result<api::ExecTurnResult>(
        make_error(ErrorCode::kConflict, "session_not_running", "session has ended"));
  };
  if (!a) return done(ended());
  caf::anon_send(
      a, msg::ToSession{msg::Exec{req, answered_once<api::ExecTurnResult>(std::move(done), ended),
                                  std::move(on_output)}});
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

uint64_t Engine::wait_session(const Principal& p, const std::string& id, uint32_t wait_s,
                              Callback<api::Session> done) {
  auto s = visible_session(impl_->model(), p, id);
  if (!s) return done(s.error()), 0;
  if (!p.has("sessions:read")) return done(forbidden("sessions:read")), 0;
  TimeMs deadline = impl_->config.clock() + TimeMs{std::min(wait_s, kMaxWaitSeconds)} * 1000;
  return start_wait(impl_->model(), s->id, deadline, std::move(done));
}

void Engine::cancel_wait(uint64_t token) {
  if (token) impl_->model().waiters().cancel(token);
}

void Engine::create_fleet(const Principal& p, const api::CreateFleetRequest& req,
                          Callback<api::Fleet> done) {
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  RequestBounds bounds;
  bounds.max_disk_mb = impl_->config.max_disk_mb;
  bounds.egress = impl_->config.egress;
  bounds.images = image_catalog(impl_->config);
  auto members = validate_fleet_request(req, bounds);
  if (!members) return done(members.error());
  msg::CreateFleet c;
  c.members = std::move(*members);
  for (size_t i = 0; i < c.members.size(); ++i)
    if (auto e = impl_->secrets->check_session(p.org_id, c.members[i],
                                               "members[" + std::to_string(i) + "]."))
      return done(*e);
  auto* d = impl_.get();
  if (auto refused = d->storage->refusal(p.org_id)) return done(*refused);
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
  // Members with fromSession: their sources are checkpointed first (actors/fleet_forks.h).
  auto members_in = std::move(c.members);
  auto create = [d, c = std::move(c), done = std::move(done)](
                    Result<std::vector<events::SessionSpec>> members, MemberForks forks) mutable {
    if (!members) return done(members.error());
    c.members = std::move(*members);
    c.forks = std::move(forks);
    c.done = std::move(done);
    auto a = spawn_fleet(*d->sys, &d->ctx, fleet::State{}, 0);
    d->registry.put(c.id, a);
    caf::anon_send(a, msg::ToFleet{std::move(c)});
  };
  take_fleet_fork_sources(d, p, std::move(members_in), std::move(create));
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

// ---- secrets (actors/secret_service.h) -------------------------------------------------------

void Engine::set_secret(const Principal& p, const api::CreateSecretRequest& req,
                        Callback<api::Secret> done) {
  impl_->secrets->set(p, req, std::move(done));
}

Result<api::SecretList> Engine::list_secrets(const Principal& p) const {
  return impl_->secrets->list(p);
}

void Engine::delete_secret(const Principal& p, const std::string& name,
                           Callback<api::Secret> done) {
  impl_->secrets->remove(p, name, std::move(done));
}

}  // namespace enclave
