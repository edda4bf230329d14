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

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "actors/engine_types.h"
#include "backends/backend.h"

namespace enclave {

namespace storage {
class EventLog;
}
struct EngineParts;  // actors/engine_impl.h

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
  // `on_output`, if given, gets this turn's own live output chunks (kOutput items: stdout and
  // stderr as the backend reports them, capped per turn; `truncated` once a stream's cap is
  // reached), in order and all before `done`. It runs on the session's actor: be quick, never
  // call back into the engine.
  void exec(const Principal& p, const std::string& id, const api::ExecRequest& req,
            Callback<api::ExecTurnResult> done, OnOutput on_output = {});
  // Idempotent: an ended session answers its current view.
  void teardown_session(const Principal& p, const std::string& id, Callback<api::Session> done);
  // ---- pause, resume, fork (interactive sessions; docs/PAUSE.md) --------------------------------
  // Checkpoints the sandbox and frees its slot: answers the paused Session (already paused: as
  // is). 409 while a turn runs; 501 not_supported_on_backend where checkpoints do not exist.
  void pause_session(const Principal& p, const std::string& id, Callback<api::Session> done);
  // Sends a paused session back through admission; answers at once (phase paused until it is
  // admitted and restored, then running). Running: answered as is.
  void resume_session(const Principal& p, const std::string& id, Callback<api::Session> done);
  // `count` (1..100) new sessions from one fresh checkpoint of the source (which runs on or
  // stays paused), each admitted like any session.
  void fork_session(const Principal& p, const std::string& id, const api::ForkRequest& req,
                    Callback<api::ForkResponse> done);
  // Shutdown: pauses every running interactive session (reason server_restart; the next open
  // resumes them) and waits for them, at most `timeout`. Returns how many were paused.
  size_t pause_all_for_restart(std::chrono::milliseconds timeout);

  void create_fleet(const Principal& p, const api::CreateFleetRequest& req,
                    Callback<api::Fleet> done);
  void teardown_fleet(const Principal& p, const std::string& id, Callback<api::Fleet> done);

  // Answers `done` with the session and its result (api::Session.result) once it has settled —
  // ended with its exit recorded, or torn down — or after `wait_s` seconds (≤ 300) as it stands
  // then; at once if it has settled already. No thread waits (issue 24). Returns a token for
  // cancel_wait(), or 0 if `done` has been answered already (404, 403, settled, 503).
  uint64_t wait_session(const Principal& p, const std::string& id, uint32_t wait_s,
                        Callback<api::Session> done);
  // The caller of a wait went away: its callback is dropped, never called. A no-op if the wait
  // has completed already.
  void cancel_wait(uint64_t token);

  // ---- reads -----------------------------------------------------------------------------------
  [[nodiscard]] Result<api::Session> get_session(const Principal& p, const std::string& id) const;
  [[nodiscard]] Result<api::SessionList> list_sessions(const Principal& p,
                                                       const ListQuery& q) const;
  [[nodiscard]] Result<api::SessionResult> get_result(const Principal& p,
                                                      const std::string& id) const;
  [[nodiscard]] Result<api::AuditTrail> get_audit(const Principal& p, const std::string& id) const;
  // `members` false: phase and counts only, at a cost independent of the fleet's size.
  [[nodiscard]] Result<api::Fleet> get_fleet(const Principal& p, const std::string& id,
                                             bool members = true) const;
  [[nodiscard]] Result<api::FleetList> list_fleets(const Principal& p) const;
  // The images sessions may name (scope sessions:read; the same for every org).
  [[nodiscard]] Result<api::ImageList> list_images(const Principal& p) const;

  // ---- files (issue 20; the HTTP side is http/files_api.cc) ---------------------------------
  // The host directory that is a running interactive session's /home/user, to work in beneath
  // its fd (backends/session_files.h). 404 as every read; 403 without sessions:write (`write`)
  // or sessions:read; 409 session_paused while paused (its files are in its checkpoint: resume
  // first); 409 session_not_running unless interactive and running (or the backend keeps no
  // working directory).
  [[nodiscard]] Result<std::string> session_workdir(const Principal& p, const std::string& id,
                                                    bool write) const;
  // Records file_written or file_read in the session's log; `done` once it is durable.
  void record_file(const Principal& p, const std::string& id,
                   std::variant<events::FileWritten, events::FileRead> access, Callback<bool> done);
  // A session's collected artifacts (artifact_collected events, content included), in order.
  [[nodiscard]] Result<std::vector<events::ArtifactCollected>> artifacts(
      const Principal& p, const std::string& id) const;

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

  // ---- secrets (scope admin, own org only; actors/secret_service.h) --------------------------
  // Creates or replaces a secret; no answer ever carries its value.
  void set_secret(const Principal& p, const api::CreateSecretRequest& req,
                  Callback<api::Secret> done);
  [[nodiscard]] Result<api::SecretList> list_secrets(const Principal& p) const;
  // Deletes a secret of the caller's org: the egress proxy stops injecting it at once.
  void delete_secret(const Principal& p, const std::string& name, Callback<api::Secret> done);

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

  using Impl = EngineParts;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave
