// The types the engine's callers and its parts share: who is calling (Principal), how the engine
// is configured (EngineConfig), what a list asks for (ListQuery, defined with its validation in
// events/requests/session_request.h), what a live stream carries
// (StreamItem) and how a command answers (Callback). Everything below the facade (actors, read
// model, messages) includes this, never actors/engine.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "events/api.pb.h"
#include "events/clock.h"
#include "events/error.h"
#include "events/policy/egress_policy.h"
#include "events/requests/image_catalog.h"
#include "events/requests/session_request.h"  // ListQuery
#include "events/session.h"

namespace enclave {

namespace storage {
class EventLog;
class LogStore;
}  // namespace storage

// Who is calling. Stamped from the API key, never from a request body.
struct Principal {
  std::string user_id;  // e.g. "key:3f2a…" (the key id)
  std::string org_id;
  std::string role;              // owner | member | viewer
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
  // Where the RocksDB event log lives; "": data_dir. With a log_store it is the node's private
  // copy of the log (rebuilt from the store when it is new).
  std::string log_dir;
  // The store of record (--store postgres:…, storage/log_store.h); null: the RocksDB log is
  // durable itself. Every batch commits there first; at open the log catches up from it.
  std::shared_ptr<storage::LogStore> log_store;
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
  // The largest limits.diskMb a session may ask for (its /home/user and its /tmp, each).
  int32_t max_disk_mb = 4096;
  uint64_t org_storage_mb = 4096;
  std::map<std::string, uint64_t> org_storage_mb_for;
  // The server's egress policy: an allow-list naming an IP literal it refuses is
  // `400 egress_destination_forbidden` (the backend applies the same policy at connect time).
  egress::Policy egress;
  // The images sessions may name (issue 21), read at each create (a build made while the server
  // runs is seen at once). Unset: only `default`, running every language.
  std::function<images::Catalog()> image_catalog;
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

// Gets a turn's own live output (Engine::exec).
using OnOutput = std::function<void(const StreamItem&)>;

template <typename T>
using Callback = std::function<void(Result<T>)>;

}  // namespace enclave
