#include "actors/fleet_forks.h"

#include <map>
#include <memory>
#include <mutex>

#include "actors/messages.h"
#include "actors/once_callback.h"
#include "actors/visibility.h"
#include "events/ids.h"

namespace enclave {

void take_fleet_fork_sources(
    EngineParts* d, const Principal& p, std::vector<events::SessionSpec> members,
    std::function<void(Result<std::vector<events::SessionSpec>>, MemberForks)> done) {
  std::map<std::string, std::vector<size_t>> by_source;  // source id → its members
  for (size_t i = 0; i < members.size(); ++i)
    if (!members[i].from_session().empty()) by_source[members[i].from_session()].push_back(i);
  MemberForks forks(members.size());
  if (by_source.empty()) return done(std::move(members), std::move(forks));
  std::vector<std::pair<caf::actor, uint32_t>> sources;
  for (const auto& [id, idx] : by_source) {
    const std::string field = "members[" + std::to_string(idx.front()) + "].fromSession";
    auto s = visible_session(d->model(), p, to_hex(id));
    if (!s) {
      auto e = s.error();
      e.field = field;
      return done(e, {});
    }
    if (auto ok = session::check_fork(*s); !ok) {
      auto e = ok.error();
      e.field = field;
      return done(e, {});
    }
    if (!d->backend->supports_checkpoint())
      return done(make_error(ErrorCode::kNotImplemented, "not_supported_on_backend",
                             "fromSession needs checkpoints, which the " + d->backend_name +
                                 " backend does not support (docs/PAUSE.md)",
                             field),
                  {});
    auto a = d->registry.get(s->id);
    if (!a)
      return done(
          make_error(ErrorCode::kConflict, "session_not_running", "session has ended", field), {});
    sources.emplace_back(a, static_cast<uint32_t>(idx.size()));
  }
  // One checkpoint per source, gathered; the first failure answers.
  struct Gather {
    std::mutex mu;
    size_t left;
    bool answered = false;
    std::vector<events::SessionSpec> members;
    MemberForks forks;
    std::map<std::string, std::vector<size_t>> by_source;
    std::function<void(Result<std::vector<events::SessionSpec>>, MemberForks)> done;
  };
  auto g = std::make_shared<Gather>();
  g->left = sources.size();
  g->members = std::move(members);
  g->forks = std::move(forks);
  g->by_source = std::move(by_source);
  g->done = std::move(done);
  for (auto& [actor, n] : sources) {
    auto got = [g](Result<msg::ForkSource> src) {
      std::unique_lock lock(g->mu);
      if (g->answered) return;
      if (!src) {
        g->answered = true;
        auto done = std::move(g->done);
        lock.unlock();
        return done(src.error(), {});
      }
      for (size_t i : g->by_source[src->from.from]) {
        // The member runs in the source's sandbox as it was: its shape is the source's; only
        // its code (run as a turn) and its place in the fleet are its own.
        auto spec = src->spec;
        spec.clear_fleet_id();
        spec.clear_fleet_index();
        spec.clear_on_idle();
        spec.set_code(g->members[i].code());
        spec.set_from_session(src->from.from);
        g->members[i] = std::move(spec);
        g->forks[i] = src->from;
      }
      if (--g->left > 0) return;
      g->answered = true;
      auto done = std::move(g->done);
      auto members = std::move(g->members);
      auto forks = std::move(g->forks);
      lock.unlock();
      done(std::move(members), std::move(forks));
    };
    auto gone = [] {
      return Result<msg::ForkSource>(
          make_error(ErrorCode::kConflict, "session_not_running", "session has ended"));
    };
    caf::anon_send(actor, msg::ToSession{msg::Snapshot{
                              n, answered_once<msg::ForkSource>(std::move(got), gone)}});
  }
}

}  // namespace enclave
