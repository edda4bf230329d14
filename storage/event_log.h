// The append-only event log on RocksDB. Nothing is ever updated in place or deleted.
//
// Layout (column families):
//   events   : stream(16) + seq(8, big-endian)  → stored Envelope bytes (prev_hash set)
//   streams  : stream(16)                       → head: seq(8) + hash(32) + org id
//   global   : global seq(8, big-endian)        → stream(16) + seq(8)   (commit order)
//   org_index: org id + '\0' + created(8) + stream(16) → kind: 'S' session, 'F' fleet, 'K' keys
//              (an org's streams in creation order; `created` = global seq of the first event)
//   snapshots: stream(16)                       → snapshot bytes (see snapshot.h; optional)
//   merkle   : the RFC 9162 tree over the global order (merkle_store.h), same WriteBatch
// An event's hash is SHA-256 of its stored bytes; its prev_hash is the previous event's hash in
// the same stream (empty for seq 1), so every stream is a hash chain ending at its head.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "events/codec/sha256.h"
#include "events/error.h"
#include "events/events.pb.h"
#include "storage/log_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace enclave::storage {

class MerkleStore;

enum class OpenMode {
  kReadWrite,  // the server; creates the dir if missing
  kReadOnly,   // offline tools on a stopped or copied data dir; never writes
  kSecondary,  // offline tools while the server runs (follows the live dir); never writes
};

struct StreamHead {
  uint64_t seq = 0;
  std::string hash;  // 32 raw bytes; empty for an empty stream
  std::string org_id;
};

// One stored event as read back.
struct Stored {
  events::Envelope envelope;
  std::string hash;  // 32 raw bytes: SHA-256 of the stored bytes
  uint64_t global_seq = 0;
};

// Events for one stream, appended only if the stream's head is still `expected_seq`.
// The envelopes' stream and seq must match (seq = expected_seq + 1, + 2, …).
struct Append {
  std::string stream;
  uint64_t expected_seq = 0;
  std::vector<events::Envelope> events;
};

// SHA-256 of bytes, raw 32 bytes (events/codec/sha256.h; `storage::sha256` kept for callers).
using enclave::sha256;

class EventLog {
 public:
  [[nodiscard]] static Result<std::unique_ptr<EventLog>> open(const std::string& dir,
                                                              OpenMode mode);
  ~EventLog();

  // Appends all of `appends` in one atomic write (fsynced when `sync`). Fails as a whole with
  // kConflict (naming the stream) if any head moved, or kInvalidArgument if seqs are wrong.
  // Returns the stored events in order. Thread-safe (writes are serialised).
  [[nodiscard]] Result<std::vector<Stored>> append(const std::vector<Append>& appends,
                                                   bool sync = true);

  // Several independent appends in ONE fsynced write (group commit): each entry succeeds or
  // fails on its own (a conflict in one does not fail the others).
  [[nodiscard]] std::vector<Result<std::vector<Stored>>> append_group(
      const std::vector<std::vector<Append>>& group, bool sync = true);

  // Events of one stream with from_seq ≤ seq ≤ until_seq, in order. global_seq is 0 here.
  [[nodiscard]] Result<std::vector<Stored>> read_stream(const std::string& stream,
                                                        uint64_t from_seq = 1,
                                                        uint64_t until_seq = UINT64_MAX) const;

  // The stored bytes of one stream's events with from_seq ≤ seq ≤ until_seq, in order.
  [[nodiscard]] Result<std::vector<std::string>> read_stream_bytes(const std::string& stream,
                                                                   uint64_t from_seq,
                                                                   uint64_t until_seq) const;

  // Every event in commit order from `from_global` (1-based). `fn` returns false to stop.
  [[nodiscard]] Result<uint64_t> scan_global(uint64_t from_global,
                                             const std::function<bool(const Stored&)>& fn) const;

  std::optional<StreamHead> head(const std::string& stream) const;
  // Every stream head (stream id → head).
  std::unordered_map<std::string, StreamHead> heads() const;
  // The stream ids of an org, in creation order.
  std::vector<std::string> streams_of_org(const std::string& org_id) const;
  // An org's streams created after global seq `after_gseq`, in creation order:
  // fn(created global seq, stream id, kind). `fn` returns false to stop.
  Result<bool> scan_org(const std::string& org_id, uint64_t after_gseq,
                        const std::function<bool(uint64_t, const std::string&, char)>& fn) const;
  uint64_t last_global_seq() const;

  // ---- raw access for verification and snapshots ------------------------------------------
  // Every (key, value) of the events column family in key order. `fn` returns false to stop.
  Result<bool> scan_raw_events(
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;
  // Every head as the log itself proves it: the heads column family (written every
  // kHeadsEvery events and at close, not per append) rolled forward over the global index
  // entries after it, each of which carries its event's SHA-256. Independent of the in-memory
  // cache; a break in a stream's succession is an error naming the stream.
  Result<std::vector<std::pair<std::string, StreamHead>>> stored_heads() const;

  // Heads are persisted (with the global seq they reflect) every this many appended events.
  static constexpr uint64_t kHeadsEvery = 10'000;

  [[nodiscard]] Result<bool> put_snapshot(const std::string& stream, const std::string& bytes);
  // Several snapshots (stream → bytes) in one unsynced write.
  [[nodiscard]] Result<bool> put_snapshots(
      const std::vector<std::pair<std::string, std::string>>& snapshots);
  std::optional<std::string> get_snapshot(const std::string& stream) const;
  // Every (key, bytes) of the snapshots family in key order. `fn` returns false to stop.
  Result<bool> scan_snapshots(
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // The Merkle tree over the global order; nullptr for a data dir made before it existed (opened
  // read-only). Read-write opens bring an older log's tree up to date first.
  const MerkleStore* merkle() const { return merkle_.get(); }
  // Every global index entry from `from_global` with its event's stored bytes (empty when the
  // index names a missing event): fn(gseq, stream, seq, indexed hash, bytes). `fn` returns false
  // to stop.
  // Every global index entry from `from_global` without reading events: fn(gseq, stream, seq,
  // indexed hash — empty in logs written before hashes were indexed).
  Result<bool> scan_global_refs(
      uint64_t from_global,
      const std::function<bool(uint64_t, std::string_view, uint64_t, std::string_view)>& fn) const {
    return scan_refs(from_global, fn);
  }
  Result<bool> scan_global_raw(
      uint64_t from_global,
      const std::function<bool(uint64_t, std::string_view, uint64_t, std::string_view,
                               std::string_view)>& fn) const;

  // Secondary mode: catch up with the primary's writes.
  Result<bool> catch_up();

  // ---- a store of record (storage/log_store.h; event_log_replica.cc) ------------------------
  // From now on every batch is made durable in `store` (one transaction) before this log takes
  // it; a batch the store refuses is refused as a whole, with the store's error. The local
  // write is then not fsynced: this log is the node's copy, rebuilt from the store at open.
  // `store` must outlive the log. Call before any append.
  void set_store(LogStore* store);
  // Takes rows the store committed (another writer's, or this node's before a restart) in
  // global order: the same staging as an append recomputes each row's bytes, prev hash, global
  // seq and hash, and a row whose recomputed hash or global seq differs is an error
  // (store_diverged): the local copy no longer matches and must be rebuilt (the caller stops).
  // Returns the events taken, in order.
  [[nodiscard]] Result<std::vector<Stored>> replicate(const std::vector<LogRow>& rows);
  // Replicates everything the store holds after this log's last global seq, `page` rows at a
  // time; `on_events` (may be empty) sees each page's events. Returns how many were taken.
  [[nodiscard]] Result<uint64_t> catch_up_from(
      LogStore& store, const std::function<void(const std::vector<Stored>&)>& on_events = {},
      size_t page = 10'000);

  // Bytes appended since open (metrics).
  uint64_t bytes_appended() const { return bytes_appended_; }

  // ---- a full or failing disk ---------------------------------------------------------------
  // An append is refused (kUnavailable, "log_unavailable") without reaching RocksDB when the
  // data dir's filesystem has less free space than the batch, the memtables (whose flush needs
  // that much again) and kReserveBytes. If RocksDB still fails a write (a race for the last
  // bytes, EIO), the log stops writing until probe_writable() finds room and DB::Resume()
  // succeeds: RocksDB 7.8 (Debian's build keeps its asserts) aborts the process when a WAL
  // writer that saw an error is touched again, by its own auto-recovery, by a Resume() on a
  // still-full disk, or by closing the DB; so auto-recovery is switched off and a log in that
  // state is never closed (the process leaks it; everything acknowledged was fsynced).
  static constexpr uint64_t kReserveBytes = 4ull << 20;
  // Whether appends are being taken. False from a refused or failed append until an append or a
  // probe succeeds.
  bool writable() const { return writable_.load(); }
  // Why not, for operators ("" while writable).
  std::string unwritable_reason() const;
  // Re-checks an unwritable log (room on the disk; after a failed write, DB::Resume()). Returns
  // writable(). Thread-safe; meant to be called every second or so while unwritable.
  bool probe_writable();
  // Free bytes on the data dir's filesystem, or nullopt if unknown (then nothing is refused).
  // Replaceable for tests; the default is statvfs(2) of the data dir.
  using FreeSpace = std::function<std::optional<uint64_t>()>;
  void set_free_space(FreeSpace fn);
  std::optional<uint64_t> free_bytes() const;

  // Stored bytes (events' keys and values) of each org's streams, counted as batches commit and
  // rebuilt at open (persisted with the heads, rolled forward over the events after them).
  uint64_t org_bytes(const std::string& org_id) const;

 private:
  EventLog() = default;
  Result<bool> load_heads();
  // `heads` as of `heads_gseq`, moved forward over every global index entry after it.
  Result<bool> roll_forward(std::unordered_map<std::string, StreamHead>& heads, uint64_t heads_gseq,
                            std::vector<std::string>* moved) const;
  // Puts every dirty head (`overlay`'s version where it has one, and all of `overlay`) and the
  // heads marker for `global` into `batch` (mu_ held).
  void stage_heads(void* batch, uint64_t global,
                   const std::unordered_map<std::string, StreamHead>& overlay);
  // `org_added`: each org's stored bytes grow by this much with these appends.
  Result<std::vector<Stored>> stage(const std::vector<Append>& appends, void* batch,
                                    std::unordered_map<std::string, StreamHead>& heads,
                                    uint64_t& global, std::string& global_entries,
                                    std::unordered_map<std::string, uint64_t>& org_added);
  // Puts every org's byte count, plus `added`, into `batch` (mu_ held; with the heads).
  void stage_org_bytes(void* batch, const std::unordered_map<std::string, uint64_t>& added);
  // org_bytes_ from the stored counts rolled forward over the events after `heads_gseq`.
  Result<bool> load_org_bytes(uint64_t heads_gseq);
  // Every global index entry from global seq `from`: fn(gseq, stream, seq, hash — empty in logs
  // written before hashes were indexed). `fn` returns false to stop.
  Result<bool> scan_refs(
      uint64_t from,
      const std::function<bool(uint64_t, std::string_view, uint64_t, std::string_view)>& fn) const;

  // The room check before a write of `batch_bytes` (mu_ held): empty when there is room.
  std::optional<Error> room_for(uint64_t batch_bytes) const;
  void set_unwritable(const std::string& why);  // mu_ held
  // After a failed write: DB::Resume() once there is room for it (mu_ held). Whether it worked.
  bool try_resume();

  // append_group, with `to_store`: through the store of record first (false: replicate()).
  std::vector<Result<std::vector<Stored>>> write_group(
      const std::vector<std::vector<Append>>& group, bool sync, bool to_store);
  LogStore* store_ = nullptr;
  std::vector<LogRow> store_rows_;  // rows of the batch being staged, for the store (mu_ held)

  std::unique_ptr<rocksdb::DB> db_;
  std::string dir_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* streams_ = nullptr;
  rocksdb::ColumnFamilyHandle* global_ = nullptr;
  rocksdb::ColumnFamilyHandle* org_index_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;
  rocksdb::ColumnFamilyHandle* merkle_cf_ = nullptr;
  std::unique_ptr<MerkleStore> merkle_;
  std::string merkle_leaves_;  // leaf hashes of the batch being staged (mu_ held)
  // Read-write open of a log whose tree is behind its global index (made before the tree).
  Result<bool> backfill_merkle();
  OpenMode mode_ = OpenMode::kReadWrite;

  mutable std::mutex mu_;  // guards heads_ and global_seq_; serialises writes
  std::unordered_map<std::string, StreamHead> heads_;
  std::unordered_set<std::string> dirty_heads_;  // heads changed since the last persisted ones
  uint64_t unpersisted_events_ = 0;              // events appended since then
  uint64_t global_seq_ = 0;
  uint64_t bytes_appended_ = 0;
  // Written with mu_ AND side_mu_ held, so readers on the request path take only side_mu_ and
  // never wait behind a write's fsync.
  mutable std::mutex side_mu_;
  std::unordered_map<std::string, uint64_t> org_bytes_;
  std::atomic<bool> writable_{true};
  bool write_failed_ = false;      // RocksDB failed a write; Resume() is needed (mu_ held)
  std::string unwritable_reason_;  // mu_ held
  FreeSpace free_space_;           // side_mu_
};

// Key helpers (exposed for verification tools and tests).
std::string event_key(const std::string& stream, uint64_t seq);
bool parse_event_key(std::string_view key, std::string* stream, uint64_t* seq);

}  // namespace enclave::storage
