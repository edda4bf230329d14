// `?wait=S` in the API layer (issue 24): a wait registered with the engine, answered from the
// commit that settles the session or from the engine's timer, and dropped if the client hangs up.
#include <mutex>

#include "http/api.h"
#include "http/json_io.h"

namespace enclave::http {

// One waiting call: the engine's token once registered; `gone` once the client hung up.
struct Api::WaitCall {
  std::mutex mu;
  uint64_t token = 0;
  bool gone = false;
};

std::shared_ptr<Api::WaitCall> Api::watch_hangup(const std::shared_ptr<HangupWatch>& hangup) {
  auto w = std::make_shared<WaitCall>();
  if (!hangup) return w;
  std::weak_ptr<WaitCall> weak = w;
  hangup->on_hangup = [this, weak] {
    auto w = weak.lock();
    if (!w) return;
    uint64_t token;
    {
      std::lock_guard lock(w->mu);
      w->gone = true;
      token = w->token;
    }
    std::shared_lock lock(mu_);
    if (engine_ && token) engine_->cancel_wait(token);
  };
  return w;
}

void Api::wait_for(Engine& e, const std::shared_ptr<WaitCall>& w, const Principal& p,
                   const std::string& id, uint32_t wait_s, Reply reply, int ok_status) {
  // The callback keeps the WaitCall alive as long as the engine holds the wait.
  Callback<api::Session> done = [reply = std::move(reply), ok_status, w](Result<api::Session> r) {
    if (!r.ok()) {
      Response out;
      out.status = http_status(r.error().code);
      out.body = error_json(r.error());
      if (r.error().retry_after_s > 0)
        out.headers.emplace_back("Retry-After", std::to_string(r.error().retry_after_s));
      return reply(std::move(out));
    }
    Response out;
    out.status = ok_status;
    out.body = to_json(r.value());
    reply(std::move(out));
  };
  std::lock_guard lock(w->mu);
  if (w->gone) return;  // the client hung up while the session was being created
  w->token = e.wait_session(p, id, wait_s, std::move(done));
}

}  // namespace enclave::http
