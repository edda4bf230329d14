// The event log's store of record on PostgreSQL (--store postgres:CONNINFO).
//
// Schema (created if missing, under an advisory lock so replicas may start together):
//   enclave_events(stream bytea, seq bigint, gseq bigint UNIQUE, body bytea, hash bytea,
//                  PRIMARY KEY (stream, seq))
//   enclave_leases(part text PRIMARY KEY, epoch bigint, holder text, addr text,
//                  expires_at timestamptz) (storage/postgres/pg_lease.h)
// One transaction per group-commit batch: the rows go in by COPY, then NOTIFY enclave_log wakes
// the standbys. The primary key (stream, seq) and the unique gseq are the backstop against a
// second writer: its batch fails as a whole. With an epoch set (--ha), every transaction first
// takes the lease row FOR SHARE and checks the epoch is still this writer's, so a leader whose
// lease was taken over cannot commit anything after the takeover (a takeover's UPDATE waits for
// an in-flight append, and an append after it sees the new epoch).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "storage/log_store.h"
#include "storage/postgres/pg_conn.h"

namespace enclave::storage::pg {

// The channel NOTIFYed by every commit.
inline constexpr const char* kLogChannel = "enclave_log";
// The lease row's key (one partition: the whole log).
inline constexpr const char* kLogPart = "log";

// Creates the tables and the fencing function if missing (idempotent, safe concurrently).
[[nodiscard]] Result<bool> ensure_schema(PgConn& conn);

class PgStore : public LogStore {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo);

  Result<bool> commit(const std::vector<LogRow>& rows) override;
  Result<std::vector<LogRow>> read_after(uint64_t after, size_t limit) override;
  // The highest committed global seq (0: empty).
  [[nodiscard]] Result<uint64_t> last_gseq();

  // From now on every commit checks that the lease's epoch is `epoch` (0: no check).
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }
  uint64_t epoch() const { return epoch_; }
  // True once a commit was refused as fenced; every later commit is refused without trying.
  bool fenced() const { return fenced_; }
  // Called once, on the committing thread, when a commit finds the log fenced.
  void on_fenced(std::function<void()> fn) { on_fenced_ = std::move(fn); }

 private:
  explicit PgStore(std::unique_ptr<PgConn> c) : conn_(std::move(c)) {}
  // After a failure whose outcome is unknown (the connection broke around COMMIT): whether the
  // batch ending at `last_gseq` is in the database.
  bool landed(uint64_t last_gseq);
  Error fence(const std::string& why);

  std::mutex mu_;
  std::unique_ptr<PgConn> conn_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> fenced_{false};
  std::function<void()> on_fenced_;
};

}  // namespace enclave::storage::pg
