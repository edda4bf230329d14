// `enclaved serve` over the postgres store (--store postgres:…, --ha; docs/HA.md): the store of
// record, the log's private local copy, and — with --ha — the replica that follows the log as a
// standby and opens the engine when it takes the lease.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "actors/replica.h"
#include "cli/enclaved/serve_config.h"
#include "http/standby.h"
#include "storage/event_log.h"
#include "storage/postgres/pg_lease.h"
#include "storage/postgres/pg_store.h"
#include "storage/postgres/pg_tail.h"

namespace enclave::enclaved {

// The store and the local copy's directory: a fresh private dir per process (under $TMPDIR,
// named with the pid; dirs of dead processes are swept at start), removed at exit. The copy is
// rebuilt from the store at each start.
struct PgNode {
  std::shared_ptr<storage::pg::PgStore> store;
  std::string log_dir;
  ~PgNode();
};
[[nodiscard]] Result<std::unique_ptr<PgNode>> open_pg_node(const std::string& conninfo);

class HaNode {
 public:
  // Starts as a standby following the log into node.log_dir. On taking the lease it sets the
  // store's epoch, closes its follower and calls `go_live` (open the engine over the same dir,
  // which catches up and recovers). A leader that loses the lease, or whose appends are fenced,
  // exits the process at once (code 75): nothing it does after that can reach the log or the
  // backend, and its supervisor restarts it as a standby.
  [[nodiscard]] static Result<std::unique_ptr<HaNode>> start(const ServeConfig& c, PgNode& node,
                                                             std::function<Result<bool>()> go_live);
  ~HaNode();
  // For /v1/healthz and the standby's answers; `live`: the engine is open and serving.
  http::ReplicaStatus status(bool live) const;
  // Stops following or leading; a leader gives its lease back so a standby takes over at once.
  void stop();

 private:
  HaNode() = default;
  void follow(int64_t max_wait_ms);

  PgNode* node_ = nullptr;
  std::string advertise_;
  std::unique_ptr<storage::pg::PgLease> lease_;
  std::unique_ptr<storage::pg::PgTail> tail_;
  std::unique_ptr<storage::EventLog> follower_;  // standby only (the engine owns the dir after)
  std::unique_ptr<Replica> replica_;
  std::atomic<uint64_t> lag_{0};
};

}  // namespace enclave::enclaved
