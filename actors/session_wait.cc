#include "actors/session_wait.h"

#include <memory>

#include "events/views/api_views.h"

namespace enclave {

api::Session session_with_result(const session::State& s) {
  api::Session out = views::session(s);
  auto* r = out.mutable_result();
  *r = views::result(s);
  if (!r->has_json()) r->mutable_json()->set_null_value({});
  return out;
}

uint64_t start_wait(ReadModel& model, const std::string& id, TimeMs deadline_ms,
                    Callback<api::Session> done) {
  auto answer = [&model, id, done](bool) {
    auto s = model.session(id);
    if (!s) return done(make_error(ErrorCode::kNotFound, "not_found", "no such session"));
    done(session_with_result(*s));
  };
  if (auto s = model.session(id); s && session::settled(*s)) {
    answer(false);
    return 0;
  }
  auto token = model.waiters().add(id, deadline_ms, answer);
  if (!token) {
    auto e = make_error(ErrorCode::kUnavailable, "too_many_waiters",
                        "too many callers are waiting for sessions; retry without wait, or later");
    e.retry_after_s = 1;
    done(e);
    return 0;
  }
  // It may have settled between the look above and add(): the commit that settled it found no
  // waiter then. Looking again after add() closes that gap (settle_one completes it only once).
  if (auto s = model.session(id); s && session::settled(*s)) {
    model.waiters().settle_one(*token);
    return 0;
  }
  return *token;
}

namespace {

caf::behavior wait_timer(caf::event_based_actor* self, ReadModel* model, Clock clock,
                         int64_t tick_ms) {
  if (tick_ms > 0) self->delayed_send(self, std::chrono::milliseconds(tick_ms), WaitTick{true});
  return {
      [self, model, clock, tick_ms](WaitTick t) {
        if (model->waiters().size() > 0) model->waiters().expire(clock());
        if (t.self_scheduled)
          self->delayed_send(self, std::chrono::milliseconds(tick_ms), WaitTick{true});
      },
  };
}

}  // namespace

caf::actor spawn_wait_timer(caf::actor_system& sys, ReadModel* model, Clock clock,
                            int64_t tick_ms) {
  return sys.spawn(wait_timer, model, std::move(clock), tick_ms);
}

}  // namespace enclave
