#include "actors/fleet_actor.h"

#include <spdlog/spdlog.h>

#include <deque>
#include <optional>

#include "actors/messages.h"
#include "actors/session_actor.h"
#include "events/ids.h"
#include "events/views/api_views.h"

namespace enclave {

namespace {

struct FleetActorState {
  const Context* ctx = nullptr;
  fleet::State f;
  size_t live = 0;
  std::deque<std::function<void(Result<std::vector<storage::Stored>>&)>> inflight;
  // A new fleet waiting for admission's grants before its creating commit.
  struct Pending {
    msg::CreateFleet create;
    std::vector<std::string> ids;
    std::vector<events::Envelope> fleet_events;
  };
  std::optional<Pending> pending;
};

using Self = caf::stateful_actor<FleetActorState>;

Result<api::Fleet> committed_view(const Context* ctx, const std::string& id) {
  auto f = ctx->model->fleet(id);
  if (!f) return make_error(ErrorCode::kNotFound, "not_found", "no such fleet");
  return views::fleet(*f);
}

void submit(Self* self, std::vector<storage::Append> appends,
            std::function<void(Result<std::vector<storage::Stored>>&)> then) {
  self->state.inflight.push_back(std::move(then));
  caf::actor me = caf::actor_cast<caf::actor>(self);
  self->state.ctx->commits->submit(std::move(appends), [me](auto res) {
    caf::anon_send(me, msg::ToFleet{msg::FleetCommitted{std::move(res)}});
  });
}

void maybe_quit(Self* self) {
  if (self->state.live == 0 && self->state.inflight.empty()) {
    self->state.ctx->registry->erase(self->state.f.id);
    self->quit();
  }
}

// Admission first (GrantNow: members get slots while slots are free, as enqueue would give
// them), then ONE batch: the fleet's creation and each member's session_created, with
// session_admitted for the granted ones — they launch after that one fsync. The others are
// enqueued once the batch is durable and record queued/admitted as single sessions do. The log
// never shows more than the ceiling: a granted slot was free when granted (a release follows its
// holder's torn-down submission, and commits are FIFO).
void create(Self* self, msg::CreateFleet& c) {
  auto& st = self->state;
  std::vector<std::string> ids;
  ids.reserve(c.members.size());
  for (size_t i = 0; i < c.members.size(); ++i) ids.push_back(new_stream_id());
  auto fr = fleet::decide(st.f, fleet::Create{c.id, c.org_id, c.created_by, c.name, ids},
                          st.ctx->clock());
  if (!fr) {
    c.done(fr.error());
    st.ctx->registry->erase(c.id);
    self->quit();
    return;
  }
  caf::actor me = caf::actor_cast<caf::actor>(self);
  self->send(st.ctx->admission, msg::ToAdmission{msg::GrantNow{c.org_id, ids, me}});
  st.pending = FleetActorState::Pending{std::move(c), std::move(ids), std::move(*fr)};
}

void record_creation(Self* self, msg::FleetGrants& g) {
  auto& st = self->state;
  if (!st.pending) return;
  auto p = std::move(*st.pending);
  st.pending.reset();
  auto& c = p.create;
  const auto& ids = p.ids;
  const TimeMs now = st.ctx->clock();
  std::vector<storage::Append> appends;
  appends.reserve(ids.size() + 1);
  for (const auto& e : p.fleet_events) st.f = fleet::apply(std::move(st.f), e);
  appends.push_back({c.id, 0, std::move(p.fleet_events)});
  std::vector<session::State> members;
  std::vector<events::Envelope> admitted;  // of the granted members, in member order
  members.reserve(ids.size());
  admitted.reserve(g.grants.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto spec = std::move(c.members[i]);
    spec.set_fleet_id(c.id);
    spec.set_fleet_index(static_cast<uint32_t>(i));
    auto r = session::decide(session::State{},
                             session::Create{ids[i], c.org_id, c.created_by, std::move(spec)}, now,
                             st.ctx->policy);
    session::State m;
    for (const auto& e : *r) m = session::apply(std::move(m), e);
    if (i < c.forks.size() && c.forks[i]) {
      // fromSession: its lineage (session_forked) in the same batch, before its admission.
      auto fr = session::decide(m, *c.forks[i], now, st.ctx->policy);
      if (fr) {
        for (const auto& e : *fr) m = session::apply(std::move(m), e);
        for (auto& e : *fr) r->push_back(std::move(e));
      }
    }
    if (i < g.grants.size()) {
      // A slot was free: admitted in this same commit (what Create's `admission` does for a
      // single session, decided after the lineage). A new queued session is always admissible.
      const auto& gr = g.grants[i];
      auto ar =
          session::decide(m, session::Admit{gr.active, g.max_concurrency, gr.ticket, gr.grant}, now,
                          st.ctx->policy);
      for (const auto& e : *ar) m = session::apply(std::move(m), e);
      admitted.push_back(ar->back());
      for (auto& e : *ar) r->push_back(std::move(e));
    }
    members.push_back(std::move(m));
    appends.push_back({ids[i], 0, std::move(*r)});
  }
  auto done = std::move(c.done);
  submit(self, std::move(appends),
         [self, members = std::move(members), admitted = std::move(admitted), done](auto& res) {
           auto& st = self->state;
           if (!res) {
             for (size_t i = 0; i < admitted.size(); ++i)  // the slots were never used
               self->send(st.ctx->admission, msg::ToAdmission{msg::Release{members[i].id}});
             done(res.error());
             return;
           }
           caf::actor me = caf::actor_cast<caf::actor>(self);
           for (size_t i = 0; i < members.size(); ++i) {
             std::string id = members[i].id;
             auto a = spawn_session(self->home_system(), st.ctx, members[i], me);
             st.ctx->registry->put(id, a);
             if (i < admitted.size())
               self->send(a, msg::ToSession{msg::Launch{admitted[i]}});
             else
               self->send(st.ctx->admission, msg::ToAdmission{msg::Enqueue{id, a, 0, st.f.org_id}});
             st.live++;
           }
           done(committed_view(st.ctx, st.f.id));
         });
}

caf::behavior fleet_actor(Self* self, const Context* ctx, fleet::State initial, size_t live) {
  self->state.ctx = ctx;
  self->state.f = std::move(initial);
  self->state.live = live;
  return {
      [self](msg::ToFleet& m) {
        auto& st = self->state;
        if (auto* c = std::get_if<msg::CreateFleet>(&m)) {
          create(self, *c);
        } else if (auto* fc = std::get_if<msg::FleetCommitted>(&m)) {
          auto then = std::move(st.inflight.front());
          st.inflight.pop_front();
          if (!fc->result)
            spdlog::error("fleet {}: the log refused an append: {}", to_hex(st.f.id),
                          fc->result.error().message);
          then(fc->result);
          maybe_quit(self);
        } else if (auto* t = std::get_if<msg::TeardownFleet>(&m)) {
          auto evs = fleet::decide(st.f, fleet::TearDown{}, st.ctx->clock());
          for (const auto& id : st.f.member_ids)
            if (auto a = st.ctx->registry->get(id))
              self->send(a, msg::ToSession{
                                msg::Kill{events::KILL_REASON_TORN_DOWN, "fleet torn down", {}}});
          auto done = std::move(t->done);
          if (evs.empty()) {
            done(committed_view(st.ctx, st.f.id));
            return;
          }
          for (const auto& e : evs) st.f = fleet::apply(std::move(st.f), e);
          uint64_t expected = evs.front().seq() - 1;
          submit(self, {{st.f.id, expected, std::move(evs)}}, [self, done](auto& res) {
            if (!res)
              done(res.error());
            else
              done(committed_view(self->state.ctx, self->state.f.id));
          });
        } else if (auto* g = std::get_if<msg::FleetGrants>(&m)) {
          record_creation(self, *g);
        } else if (std::get_if<msg::MemberGone>(&m)) {
          if (st.live > 0) st.live--;
          maybe_quit(self);
        }
      },
  };
}

}  // namespace

caf::actor spawn_fleet(caf::actor_system& sys, const Context* ctx, fleet::State initial,
                       size_t live_members) {
  return sys.spawn(fleet_actor, ctx, std::move(initial), live_members);
}

}  // namespace enclave
