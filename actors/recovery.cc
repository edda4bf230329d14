#include "actors/recovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "actors/admission.h"
#include "actors/fleet_actor.h"
#include "actors/messages.h"
#include "actors/session_actor.h"
#include "events/ids.h"

namespace enclave {

bool EarlyEvents::hold(const std::string& id, backends::Event& ev) {
  if (!recovering_.load()) return false;
  std::lock_guard lock(mu_);
  if (!recovering_.load()) return false;
  held_.emplace_back(id, std::move(ev));
  return true;
}

void EarlyEvents::release(const Registry& registry) {
  std::lock_guard lock(mu_);
  for (auto& [id, ev] : held_)
    if (auto a = registry.get(id))
      caf::anon_send(a, msg::ToSession{msg::FromBackend{std::move(ev)}});
  held_.clear();
  recovering_ = false;
}

RecoveryStats recover(caf::actor_system& sys, Context& ctx, EarlyEvents& early) {
  auto live = ctx.model->live_sessions();
  std::set<std::string> keep;
  std::unordered_map<std::string, bool> adopted;
  std::vector<AdmissionQueue::Holder> active;
  uint64_t max_ticket = 0, max_grant = 0;
  for (const auto& s : live) {
    max_ticket = std::max(max_ticket, s.ticket);
    max_grant = std::max(max_grant, s.grant);
    if (!s.admitted) continue;
    active.push_back({s.id, s.org_id});
    bool ok = !s.ended() && ctx.backend->adopt_sandbox({to_hex(s.id), s.container_id, s.spec});
    adopted[s.id] = ok;
    if (ok) keep.insert(to_hex(s.id));
  }
  for (const auto& line : ctx.backend->cleanup_orphans(keep)) spdlog::info("cleanup: {}", line);
  caf::anon_send(ctx.admission,
                 msg::ToAdmission{msg::Restore{active, max_ticket + 1, max_grant + 1}});

  std::unordered_map<std::string, caf::actor> fleet_actors;
  for (auto& f : ctx.model->live_fleets()) {
    size_t n = 0;
    for (const auto& s : live) n += s.spec.fleet_id() == f.id;
    std::string id = f.id;
    auto a = spawn_fleet(sys, &ctx, std::move(f), n);
    ctx.registry->put(id, a);
    fleet_actors[id] = a;
  }
  // Queued sessions re-enter their org's queue in ticket order (never-queued ones last, by
  // creation, with new tickets).
  std::vector<const session::State*> queued;
  for (const auto& s : live) {
    caf::actor fleet;
    if (auto it = fleet_actors.find(s.spec.fleet_id()); it != fleet_actors.end())
      fleet = it->second;
    auto a = spawn_session(sys, &ctx, s, fleet);
    ctx.registry->put(s.id, a);
    if (s.admitted || s.ended() || s.paused()) {  // paused: no slot, not re-queued
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
    caf::anon_send(ctx.admission,
                   msg::ToAdmission{msg::Enqueue{s->id, ctx.registry->get(s->id),
                                                 s->queue_recorded ? s->ticket : 0, s->org_id}});
  early.release(*ctx.registry);
  return RecoveryStats{live.size(), active.size(), keep.size(), queued.size()};
}

}  // namespace enclave
