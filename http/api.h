// The HTTP API (SPEC.md) on top of the engine: routes a Request, authenticates it, turns its JSON
// into engine calls and the engine's answers (or errors) into JSON. Never blocks: engine
// commands answer through the Reply from engine threads.
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>

#include "actors/engine.h"
#include "http/request.h"

namespace enclave::storage {
class SthService;
}

namespace enclave::http {

struct ApiOptions {
  // true: every request acts as enclave::default_principal() (loopback-only; enclaved checks).
  bool auth_disabled = false;
  // true: GET /metrics answers without a key (--metrics-public); otherwise it needs a key with
  // scope metrics:read or admin.
  bool metrics_public = false;
  // Signed tree heads and proofs (/v1/log/*, audit?proof=true); null: those answer 404.
  storage::SthService* sth = nullptr;
  // Uploads (PUT …/files) larger than this are refused with 413 (--max-upload-mb).
  uint64_t max_upload_bytes = 100ull << 20;
  // --ha: this replica's role, epoch and lag as JSON fields (http/standby.h replica_fields),
  // added to GET /v1/healthz; unset: nothing added.
  std::function<std::string()> replica_fields;
};

class Api {
 public:
  Api(Engine* engine, ApiOptions options);

  // Answers one request; `reply` is called exactly once (maybe on an engine thread).
  void handle(Request req, Reply reply);

  // Stops using the engine (shutdown): later requests answer 503, live streams' unsubscribes
  // become no-ops. Call before destroying the engine.
  void detach();

 private:
  struct Call;
  struct WaitCall;
  void dispatch(Call& call, Reply reply);
  // `?wait=S`: answers `reply` with the session and its result once it has settled or after
  // `wait_s` seconds; drops the wait if the client hangs up first (api_wait.cc).
  std::shared_ptr<WaitCall> watch_hangup(const std::shared_ptr<HangupWatch>& hangup);
  void wait_for(Engine& e, const std::shared_ptr<WaitCall>& w, const Principal& p,
                const std::string& id, uint32_t wait_s, Reply reply, int ok_status);

  mutable std::shared_mutex mu_;
  Engine* engine_;
  ApiOptions options_;
  std::string openapi_;
};

}  // namespace enclave::http
