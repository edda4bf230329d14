// E2B compatibility: answers the calls the unmodified E2B SDKs make (see docs/E2B.md) with
// Enclave's own interactive sessions. An E2B sandbox IS an Enclave session (same id, same org,
// same audit trail, same reaper); nothing here holds state the log does not, except the
// in-flight calls themselves and the E2B timeouts (deadlines.h). Control-plane calls authenticate
// with the org's API key exactly like the native API; calls to the sandbox carry its
// envdAccessToken (access_token.h).
//
// Threading: like Api — handle() never blocks; engine answers arrive on engine threads and go
// out through the Reply or the stream's emit.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "actors/engine.h"
#include "http/e2b/deadlines.h"
#include "http/e2b/envd_watch.h"
#include "http/e2b/requests.h"
#include "http/e2b/routes.h"
#include "http/request.h"

namespace enclave::http::e2b {

struct AdapterOptions {
  // true: control-plane calls act as enclave::default_principal() (enclaved checks loopback).
  bool auth_disabled = false;
  SandboxPolicy policy;
  // Calls waiting for one sandbox's kernel beyond this many are refused (409 too_many_calls).
  size_t max_waiting_calls = 16;
  // envd's POST /files: bytes one request may write (--max-upload-mb, as the native PUT).
  uint64_t max_upload_bytes = 100ull << 20;
};

class Adapter {
 public:
  Adapter(Engine* engine, AdapterOptions options);

  // Whether `path` (no query string) is an E2B endpoint (then handle() answers it).
  static bool owns(std::string_view path);

  // Answers one request; `reply` is called exactly once (maybe on an engine thread).
  void handle(Request req, Reply reply);

  // Stops using the engine (shutdown): later requests answer 503. Call before destroying it.
  void detach();

  // Calls whose stream is open and whose turn has not answered yet.
  size_t live_calls() const;

  struct Call;

 private:
  void create_sandbox(const Principal& p, std::string body, Reply reply);
  void list_sandboxes(const Principal& p, Reply reply);
  void get_sandbox(const Principal& p, const std::string& id, Reply reply);
  void kill_sandbox(const Principal& p, const std::string& id, Reply reply);
  void set_timeout(const Principal& p, const std::string& id, std::string body, Reply reply);
  // Pause and connect (issue 19, docs/PAUSE.md): a pause checkpoints the session (its E2B
  // timeout stops: a paused sandbox does not expire by it); connect resumes a paused one (201)
  // or finds it running (200), arms the timeout it names, and answers with a fresh token.
  void pause_sandbox(const Principal& p, const std::string& id, Reply reply);
  void connect_sandbox(const Principal& p, const std::string& id, std::string body, Reply reply);
  // When a live sandbox ends at the latest: its E2B timeout, else the server's max lifetime.
  // mu_ held (shared) with engine_ set.
  TimeMs end_ms(const api::Session& s) const;
  // (Re)arms the sandbox's E2B timeout: at `seconds` from now it is torn down as `p`.
  void arm_timeout(const Principal& p, const std::string& id, int32_t seconds);
  // The call of a sandbox's own endpoint: its E2b-Sandbox-Id and X-Access-Token checked, the
  // session a running E2B sandbox of the token's org (else reason "sandbox_not_running").
  Result<std::shared_ptr<Call>> sandbox_call(const Request& req);
  void execute(const Request& req, Reply reply);
  void start_process(const Request& req, Reply reply);
  void health(const Request& req, Reply reply);
  // POST/GET /contexts, DELETE /contexts/{id}, POST /contexts/{id}/restart: one turn of the
  // sandbox's kernel (kernel_code.h), answered as JSON once it ends.
  void context_call(const Request& req, const EndpointMatch& m, Reply reply);
  // 400 naming `field` when the sandbox's image cannot run `language` (GET /v1/images).
  std::optional<Error> language_missing(const Call& call, const std::string& language,
                                        const std::string& field) const;
  // envd's filesystem calls (envd_files.h): `endpoint` kReadFile, kWriteFiles or kFilesystemRpc.
  void sandbox_files(Request req, Endpoint endpoint, const std::string& rpc, Reply reply);
  // envd's WatchDir (envd_watch.h): a Connect server stream of one directory's events.
  void watch_dir(const Request& req, Reply reply);

  // A call's stream opened (the client reads): its turn is sent to the engine (which runs a
  // sandbox's turns in order). Returns the stream's id. Error: too many calls waiting.
  Result<uint64_t> open_stream(const std::shared_ptr<Call>& call,
                               std::function<void(std::string, bool)> emit);
  // The client went away: its turn runs to its end, nothing more is sent.
  void close_stream(uint64_t stream);
  // Starts the call's turn; its answer ends the call.
  void run(uint64_t stream, const std::shared_ptr<Call>& call);

  mutable std::shared_mutex mu_;  // guards engine_ (nullptr after detach)
  Engine* engine_;
  AdapterOptions options_;
  std::string token_secret_;

  mutable std::mutex calls_mu_;
  std::map<uint64_t, std::shared_ptr<Call>> calls_;  // open and unanswered, by stream id
  std::atomic<uint64_t> next_stream_{1};
  DirWatches watches_;   // files.watchDir streams, one thread each
  Deadlines deadlines_;  // last: its thread stops first
};

}  // namespace enclave::http::e2b
