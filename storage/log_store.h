// The store of record behind the local log, when the log's durable copy is not the local RocksDB
// (PostgreSQL: storage/postgres/pg_store.h). The EventLog still decides everything about an
// append (heads, prev hashes, global seqs, bytes, hashes, the Merkle leaves) and every read is
// served from it; the store only makes each group-commit batch durable, all or nothing, before
// the local copy takes it, and hands committed rows to a replica that did not write them
// (EventLog::replicate). So both stores hold the same events, chains and global order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "events/error.h"

namespace enclave::storage {

// One committed event as the store of record holds it.
struct LogRow {
  uint64_t gseq = 0;   // global seq (1-based, no gaps)
  std::string stream;  // 16 bytes
  uint64_t seq = 0;    // seq in its stream (1-based, no gaps)
  std::string bytes;   // the stored Envelope bytes (prev_hash and global_seq set)
  std::string hash;    // SHA-256 of `bytes`, 32 raw bytes
};

class LogStore {
 public:
  virtual ~LogStore() = default;
  // Makes one batch durable in one transaction, all or nothing. Errors: 503 log_unavailable (not
  // reachable; nothing committed), 409 `fenced` (another writer owns the log: the lease epoch
  // moved, or one of the rows' keys is taken — nothing committed, and this writer must stop).
  [[nodiscard]] virtual Result<bool> commit(const std::vector<LogRow>& rows) = 0;
  // Committed rows with gseq > `after`, in gseq order, at most `limit` of them.
  [[nodiscard]] virtual Result<std::vector<LogRow>> read_after(uint64_t after, size_t limit) = 0;
};

}  // namespace enclave::storage
