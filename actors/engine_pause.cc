// The facade's pause, resume and fork commands (docs/PAUSE.md), and the checkpoint of every
// running interactive session at server shutdown. Each is checked here (scope, state, backend
// support, storage) and handed to the session's actor, which does the checkpoint or restore.
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "actors/engine.h"
#include "actors/engine_impl.h"
#include "actors/messages.h"
#include "actors/once_callback.h"
#include "actors/session_actor.h"
#include "actors/visibility.h"
#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave {

namespace {

Error not_on_backend(const std::string& backend) {
  return make_error(ErrorCode::kNotImplemented, "not_supported_on_backend",
                    "pause, resume and fork need checkpoints, which the " + backend +
                        " backend does not support (docs/PAUSE.md)");
}

// The session's view as the log has it now: the answer when its actor ends before answering.
std::function<Result<api::Session>()> current_view(EngineParts* d, std::string id) {
  return [d, id = std::move(id)]() -> Result<api::Session> {
    auto now = d->model().session(id);
    if (!now) return not_found();
    return views::session(*now);
  };
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
  caf::anon_send(a,
                 msg::ToSession{msg::Pause{
                     "api", answered_once<api::Session>(std::move(done), current_view(d, s->id))}});
}

void Engine::resume_session(const Principal& p, const std::string& hex,
                            Callback<api::Session> done) {
  auto* d = impl_.get();
  auto s = visible_session(d->model(), p, hex);
  if (!s) return done(s.error());
  if (!p.has("sessions:write")) return done(forbidden("sessions:write"));
  if (auto ok = session::check_resume(*s); !ok) return done(ok.error());
  if (auto refused = d->storage->refusal(p.org_id)) return done(*refused);
  auto a = d->registry.get(s->id);
  if (!a) return done(views::session(*s));
  caf::anon_send(a,
                 msg::ToSession{msg::Resume{
                     "api", answered_once<api::Session>(std::move(done), current_view(d, s->id))}});
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
  if (auto refused = d->storage->refusal(p.org_id)) return done(*refused);
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

}  // namespace enclave
