#include "actors/reaper_actor.h"

#include <map>
#include <unordered_map>

#include "actors/messages.h"

namespace enclave {

namespace {

struct ReaperState {
  std::multimap<TimeMs, std::string> by_deadline;
  std::unordered_map<std::string,
                     std::pair<std::multimap<TimeMs, std::string>::iterator, caf::actor>>
      by_id;
};

caf::behavior reaper(caf::stateful_actor<ReaperState>* self, Clock clock, int64_t tick_ms) {
  if (tick_ms > 0)
    self->delayed_send(self, std::chrono::milliseconds(tick_ms), msg::ToReaper{msg::Tick{true}});
  return {
      [self, clock, tick_ms](msg::ToReaper& m) {
        auto& st = self->state;
        auto drop = [&](const std::string& id) {
          auto it = st.by_id.find(id);
          if (it == st.by_id.end()) return;
          st.by_deadline.erase(it->second.first);
          st.by_id.erase(it);
        };
        if (auto* w = std::get_if<msg::Watch>(&m)) {
          drop(w->id);
          auto pos = st.by_deadline.emplace(w->deadline, w->id);
          st.by_id[w->id] = {pos, w->session};
        } else if (auto* u = std::get_if<msg::Unwatch>(&m)) {
          drop(u->id);
        } else if (auto* t = std::get_if<msg::Tick>(&m)) {
          TimeMs now = clock();
          while (!st.by_deadline.empty() && st.by_deadline.begin()->first <= now) {
            std::string id = st.by_deadline.begin()->second;
            auto actor = st.by_id[id].second;
            drop(id);
            self->send(actor, msg::ToSession{msg::Reap{}});
          }
          if (t->self_scheduled)
            self->delayed_send(self, std::chrono::milliseconds(tick_ms),
                               msg::ToReaper{msg::Tick{true}});
        }
      },
  };
}

}  // namespace

caf::actor spawn_reaper(caf::actor_system& sys, Clock clock, int64_t tick_ms) {
  return sys.spawn(reaper, std::move(clock), tick_ms);
}

}  // namespace enclave
