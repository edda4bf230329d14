#include "actors/admission_actor.h"

#include <unordered_map>

#include "actors/admission.h"
#include "actors/messages.h"

namespace enclave {

namespace {

struct AdmissionState {
  std::unique_ptr<AdmissionQueue> queue;
  std::unordered_map<std::string, caf::actor> waiting;
  uint32_t ceiling = 0;
};

caf::behavior admission(caf::stateful_actor<AdmissionState>* self, uint32_t ceiling,
                        std::map<std::string, OrgLimits> limits) {
  self->state.queue = std::make_unique<AdmissionQueue>(ceiling);
  for (const auto& [org, l] : limits) self->state.queue->set_limits(org, l);
  self->state.ceiling = ceiling;
  auto send_grants = [self](const std::vector<AdmissionQueue::Grant>& grants) {
    for (const auto& g : grants) {
      auto it = self->state.waiting.find(g.id);
      if (it == self->state.waiting.end()) continue;
      self->send(it->second,
                 msg::ToSession{msg::Admitted{g.active, self->state.ceiling, g.ticket, g.grant}});
      self->state.waiting.erase(it);
    }
  };
  return {
      [self, send_grants](msg::ToAdmission& m) {
        auto& st = self->state;
        if (auto* e = std::get_if<msg::Enqueue>(&m)) {
          auto r = st.queue->enqueue(e->id, e->org, e->ticket);
          if (auto* g = std::get_if<AdmissionQueue::Grant>(&r)) {
            self->send(e->session,
                       msg::ToSession{msg::Admitted{g->active, st.ceiling, g->ticket, g->grant}});
          } else {
            auto& p = std::get<AdmissionQueue::Parked>(r);
            st.waiting[e->id] = e->session;
            self->send(e->session,
                       msg::ToSession{msg::Queued{p.queued, st.ceiling, p.ticket, p.org_queued}});
          }
        } else if (auto* r = std::get_if<msg::Release>(&m)) {
          st.waiting.erase(r->id);
          send_grants(st.queue->release(r->id));
        } else if (auto* gn = std::get_if<msg::GrantNow>(&m)) {
          msg::FleetGrants out;
          out.max_concurrency = st.ceiling;
          for (const auto& id : gn->ids) {
            auto g = st.queue->grant_now(id, gn->org);
            if (!g) break;
            out.grants.push_back(std::move(*g));
          }
          self->send(gn->reply_to, msg::ToFleet{std::move(out)});
        } else if (auto* rs = std::get_if<msg::Restore>(&m)) {
          st.queue->restore(rs->active, rs->next_ticket, rs->next_grant);
        }
      },
  };
}

}  // namespace

caf::actor spawn_admission(caf::actor_system& sys, uint32_t ceiling,
                           std::map<std::string, OrgLimits> limits) {
  return sys.spawn(admission, ceiling, std::move(limits));
}

}  // namespace enclave
