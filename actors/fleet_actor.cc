#include "actors/fleet_actor.h"

#include <spdlog/spdlog.h>

#include <deque>

#include "actors/messages.h"
#include "actors/session_actor.h"
#include "events/ids.h"
#include "events/views.h"

namespace enclave {

namespace {

struct FleetActorState {
  const Context* ctx = nullptr;
  fleet::State f;
  size_t live = 0;
  std::deque<std::function<void(Result<std::vector<storage::Stored>>&)>> inflight;
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

void create(Self* self, msg::CreateFleet& c) {
  auto& st = self->state;
  const TimeMs now = st.ctx->clock();
  std::vector<std::string> ids;
  ids.reserve(c.members.size());
  for (size_t i = 0; i < c.members.size(); ++i) ids.push_back(new_stream_id());
  auto fr = fleet::decide(st.f, fleet::Create{c.id, c.org_id, c.created_by, c.name, ids}, now);
  if (!fr) {
    c.done(fr.error());
    st.ctx->registry->erase(c.id);
    self->quit();
    return;
  }
  std::vector<storage::Append> appends;
  appends.reserve(ids.size() + 1);
  for (const auto& e : *fr) st.f = fleet::apply(std::move(st.f), e);
  appends.push_back({c.id, 0, std::move(*fr)});
  std::vector<session::State> members;
  members.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto spec = std::move(c.members[i]);
    spec.set_fleet_id(c.id);
    spec.set_fleet_index(static_cast<uint32_t>(i));
    auto r = session::decide(session::State{},
                             session::Create{ids[i], c.org_id, c.created_by, std::move(spec)}, now,
                             st.ctx->policy);
    auto m = session::apply(session::State{}, r->front());
    if (i < c.forks.size() && c.forks[i]) {
      // fromSession: its lineage (session_forked) in the same batch, before its admission.
      auto fr = session::decide(m, *c.forks[i], now, st.ctx->policy);
      if (fr) {
        for (const auto& e : *fr) m = session::apply(std::move(m), e);
        for (auto& e : *fr) r->push_back(std::move(e));
      }
    }
    members.push_back(std::move(m));
    appends.push_back({ids[i], 0, std::move(*r)});
  }
  auto done = std::move(c.done);
  submit(self, std::move(appends), [self, members = std::move(members), done](auto& res) mutable {
    auto& st = self->state;
    if (!res) {
      done(res.error());
      return;
    }
    caf::actor me = caf::actor_cast<caf::actor>(self);
    for (auto& m : members) {
      std::string id = m.id;
      auto a = spawn_session(self->home_system(), st.ctx, std::move(m), me);
      st.ctx->registry->put(id, a);
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
