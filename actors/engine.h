// The control plane as one object: the event log, the actor system (session, fleet, admission,
// reaper actors), the read model and a backend. The HTTP layer and the tests talk only to this.
//
// Threading: every method may be called from any thread. Commands are asynchronous: the callback
// runs exactly once, on an engine thread (a CAF worker or the log's commit thread), after the
// events are durably stored — post back to your own executor and never block in it. Reads are
// synchronous and cheap: they are answered from the committed projection of the log.
//
// Tenancy: every call takes the caller's Principal. Another org's id is kNotFound (exactly like an
// id that does not exist); a missing scope on one's own resource is kPermissionDenied.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "backends/backend.h"
#include "events/api.pb.h"
#include "events/clock.h"
#include "events/egress_policy.h"
#include "events/error.h"
#include "events/session.h"

namespace enclave {

namespace storage {
class EventLog;
}

// Who is calling. Stamped from the API key, never from a request body.
struct Principal {
  std::string user_id;  // e.g. "key:3f2a…" (the key id)
  std::string org_id;
  std::string role;  // owner | member | viewer
  std::set<std::string> scopes;  // sessions:read, sessions:write, audit:read, admin, metrics:read
  bool has(const std::string& scope) const { return scopes.count(scope) > 0; }
};

// The scopes of a role: owner = all five; member = sessions:read/write + audit:read;
// viewer = sessions:read + audit:read; metrics = metrics:read only (for a Prometheus scraper).
std::set<std::string> scopes_for_role(const std::string& role);

// The principal used when auth is disabled: org "default", role owner.
Principal default_principal();

struct EngineConfig {
  std::string data_dir = "./data";
  uint32_t max_concurrency = 8;  // admission ceiling: sandboxes starting or running at once
  session::Policy policy;
  Clock clock = system_clock();
  // The reaper checks time bounds every `reaper_tick_ms` of real time. 0: never on its own (tests
  // then call Engine::reap_now after moving their manual clock).
  int64_t reaper_tick_ms = 100;
  int scheduler_threads = 2;
  // HMAC key for session credentials. Empty: ENCLAVE_CRED_SECRET, else a key generated into
  // <data_dir>/cred_secret (0600).
  std::string cred_secret;
  // Storage bounds (docs/SECURITY.md "storage"). Below `min_free_disk_mb` free on the data dir's
  // filesystem, new sessions, fleets and turns are refused (507 insufficient_storage); 0: no
  // floor. An org whose streams store `org_storage_mb` or more (its entry in
  // `org_storage_mb_for` if it has one) has its new work refused (429 quota_exceeded); 0: no
  // quota. Work already running goes on either way.
  uint64_t min_free_disk_mb = 512;
  uint64_t org_storage_mb = 4096;
  std::map<std::string, uint64_t> org_storage_mb_for;
  // The server's egress policy: an allow-list naming an IP literal it refuses is
  // `400 egress_destination_forbidden` (the backend applies the same policy at connect time).
  egress::Policy egress;
  // Called once while the engine closes, after the last event is committed and before the log
  // closes (e.g. the final signed tree head). May read the log.
  std::function<void()> on_close;
};

// Whether the control plane can record what happens (GET /v1/healthz).
struct Health {
  bool ok = true;
  std::string reason;  // "log_unwritable" when not ok
  std::string detail;  // for operators: why
};

struct ListQuery {
  std::string fleet_id;  // hex id, or empty
  std::string phase;     // "running", … or empty
  uint32_t limit = 100;  // 1..1000
  std::string cursor;    // opaque, from a previous nextCursor
};

// One item of a session's live stream, or of a fleet's (SSE).
struct StreamItem {
  enum class Kind { kAudit, kOutput, kEnd, kFleet } kind = Kind::kAudit;
  api::AuditEvent audit;  // kAudit
  std::string stream;     // kOutput: "stdout" | "stderr"
  std::string data;       // kOutput
  uint32_t turn = 0;      // kOutput: 0 for batch output
  // kFleet: the fleet's view; when `fleet_delta`, `members` holds only the members whose phase
  // changed since the previous item (counts and phase are always the whole fleet's).
  api::Fleet fleet;
  bool fleet_delta = false;
  // kOutput: this stream's live output reached its cap (per turn, or per batch session); what
  // follows is dropped — the stored output says how much there was. `data` is empty.
  bool truncated = false;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;

class Engine {
 public:
  // Makes the backend, handing it the engine's sink (backend events are routed to the session's
  // actor). E.g. `[](backends::Sink s) { return backends::make_simulator({}, std::move(s)); }`.
  using BackendFactory = std::function<std::unique_ptr<backends::Backend>(backends::Sink)>;

  // Opens (or creates) the data dir, replays the log, re-attaches or ends what was live, rebuilds
  // the admission queue, and starts the actors. The backend is owned by the engine.
  [[nodiscard]] static Result<std::unique_ptr<Engine>> open(EngineConfig config,
                                                            BackendFactory make_backend);
  // Stops the actors and the backend's threads, then closes the log. Live sandboxes are left
  // to the backend (a restarted engine re-attaches or ends them).
  ~Engine();

  // ---- commands --------------------------------------------------------------------------------
  void create_session(const Principal& p, const api::CreateSessionRequest& req,
                      Callback<api::Session> done);
  void exec(const Principal& p, const std::string& id, const api::ExecRequest& req,
            Callback<api::ExecTurnResult> done);
  // Idempotent: an ended session answers its current view.
  void teardown_session(const Principal& p, const std::string& id, Callback<api::Session> done);
  void create_fleet(const Principal& p, const api::CreateFleetRequest& req,
                    Callback<api::Fleet> done);
  void teardown_fleet(const Principal& p, const std::string& id, Callback<api::Fleet> done);

  // ---- reads -----------------------------------------------------------------------------------
  [[nodiscard]] Result<api::Session> get_session(const Principal& p, const std::string& id) const;
  [[nodiscard]] Result<api::SessionList> list_sessions(const Principal& p,
                                                       const ListQuery& q) const;
  [[nodiscard]] Result<api::SessionResult> get_result(const Principal& p,
                                                      const std::string& id) const;
  [[nodiscard]] Result<api::AuditTrail> get_audit(const Principal& p,
                                                  const std::string& id) const;
  // `members` false: phase and counts only, at a cost independent of the fleet's size.
  [[nodiscard]] Result<api::Fleet> get_fleet(const Principal& p, const std::string& id,
                                             bool members = true) const;
  [[nodiscard]] Result<api::FleetList> list_fleets(const Principal& p) const;

  // ---- live stream -----------------------------------------------------------------------------
  // Calls `on_item` for every audit event already recorded, then for each new audit event and
  // output chunk as it happens, and finally once with kEnd when the session is torn down. Runs
  // on engine threads: the callback must be quick and must not call back into the engine.
  // Returns a subscription id for unsubscribe.
  [[nodiscard]] Result<uint64_t> subscribe(const Principal& p, const std::string& id,
                                           std::function<void(const StreamItem&)> on_item);
  // A fleet's live view: `on_item` gets one kFleet item with the whole fleet, then a kFleet delta
  // after every committed batch that changed a member's phase, then kEnd once the fleet's phase
  // is final (at once if it already is). Same threading rules as subscribe().
  [[nodiscard]] Result<uint64_t> subscribe_fleet(const Principal& p, const std::string& id,
                                                 std::function<void(const StreamItem&)> on_item);
  // Ends a subscribe() or subscribe_fleet() subscription; a no-op if it already ended.
  void unsubscribe(uint64_t subscription);

  // ---- auth ------------------------------------------------------------------------------------
  // The principal of a presented API key secret, or nullopt (unknown or revoked).
  [[nodiscard]] std::optional<Principal> authenticate(std::string_view api_key) const;
  // Whether a principal's user id ("key:<id>") still names a live key (credentials minted under
  // a key, e.g. E2B access tokens, die with it). Non-key principals ("anonymous") are live.
  [[nodiscard]] bool principal_live(const std::string& user_id) const;

  // ---- API keys online (scope admin, own org only; actors/key_service.h) ----------------------
  // Creates a key; the answer carries its secret, the only time it is shown.
  void create_key(const Principal& p, const api::CreateKeyRequest& req,
                  Callback<api::CreatedApiKey> done);
  [[nodiscard]] Result<api::ApiKeyList> list_keys(const Principal& p) const;
  // Revokes a key of the caller's org (idempotent); refused from the moment this answers.
  void revoke_key(const Principal& p, const std::string& key_id, Callback<api::ApiKey> done);

  // ---- operations ------------------------------------------------------------------------------
  // Prometheus text exposition of the engine's counters and gauges.
  [[nodiscard]] std::string metrics_text() const;
  // The credential the control plane holds for a live session (for calls it brokers on the
  // session's behalf). Never exposed by the API; nullopt once the session is torn down.
  [[nodiscard]] std::optional<std::string> session_credential(const std::string& id) const;
  // The key credentials are signed with (tests verify tokens with it).
  [[nodiscard]] const std::string& credential_secret() const;
  // Asks the reaper to check every session's time bounds against the clock now (tests).
  void reap_now();
  // Degraded while the event log cannot take writes; back to ok by itself when it can.
  [[nodiscard]] Health health() const;
  // The bytes the org's streams store in the log (what its storage quota is checked against).
  [[nodiscard]] uint64_t org_stored_bytes(const std::string& org_id) const;
  const EngineConfig& config() const;
  // The event log, for read-only use (Merkle proofs, tree heads). Lives as long as the engine.
  const storage::EventLog& event_log() const;
  const std::string& backend_name() const;

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave
