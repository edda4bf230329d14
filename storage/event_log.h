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

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "events/error.h"
#include "events/events.pb.h"

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

// SHA-256 of bytes, raw 32 bytes.
std::string sha256(std::string_view bytes);

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
  [[nodiscard]] Result<std::vector<std::string>> read_stream_bytes(
      const std::string& stream, uint64_t from_seq, uint64_t until_seq) const;

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

  // Bytes appended since open (metrics).
  uint64_t bytes_appended() const { return bytes_appended_; }

 private:
  EventLog() = default;
  Result<bool> load_heads();
  // `heads` as of `heads_gseq`, moved forward over every global index entry after it.
  Result<bool> roll_forward(std::unordered_map<std::string, StreamHead>& heads,
                            uint64_t heads_gseq, std::vector<std::string>* moved) const;
  // Puts every dirty head (`overlay`'s version where it has one, and all of `overlay`) and the
  // heads marker for `global` into `batch` (mu_ held).
  void stage_heads(void* batch, uint64_t global,
                   const std::unordered_map<std::string, StreamHead>& overlay);
  Result<std::vector<Stored>> stage(const std::vector<Append>& appends, void* batch,
                                    std::unordered_map<std::string, StreamHead>& heads,
                                    uint64_t& global, std::string& global_entries);
  // Every global index entry from global seq `from`: fn(gseq, stream, seq, hash — empty in logs
  // written before hashes were indexed). `fn` returns false to stop.
  Result<bool> scan_refs(uint64_t from,
                         const std::function<bool(uint64_t, std::string_view, uint64_t,
                                                  std::string_view)>& fn) const;

  std::unique_ptr<rocksdb::DB> db_;
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
};

// Key helpers (exposed for verification tools and tests).
std::string event_key(const std::string& stream, uint64_t seq);
bool parse_event_key(std::string_view key, std::string* stream, uint64_t* seq);

}  // namespace enclave::storage
