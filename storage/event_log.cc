#include "storage/event_log.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "events/ids.h"
#include "storage/big_endian.h"
#include "storage/event_log_internal.h"
#include "storage/merkle_store.h"
#include "storage/private_dir.h"

namespace enclave::storage {

namespace {

constexpr const char* kCfNames[] = {"default",   "events",    "streams", "global",
                                    "org_index", "snapshots", "merkle"};

std::string encode_head(const StreamHead& h) {
  std::string out;
  put_u64(out, h.seq);
  std::string hash = h.hash;
  hash.resize(32, '\0');
  out += hash;
  out += h.org_id;
  return out;
}
bool decode_head(std::string_view in, StreamHead* h) {
  if (in.size() < 40) return false;
  h->seq = get_u64(in);
  h->hash = std::string(in.substr(8, 32));
  h->org_id = std::string(in.substr(40));
  return true;
}

// Per column family. A stream's events arrive in seq order, so the events family keeps a
// memtable insert hint per stream (callgrind: ~10% fewer instructions in memtable inserts, the
// writer thread's largest cost; a hint on the global index measured no gain).
rocksdb::ColumnFamilyOptions column_family_options(std::string_view name) {
  rocksdb::ColumnFamilyOptions o;
  if (name == "events")
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(16));
  return o;
}

// Global index: one key per committed batch, its first global seq; the value is one entry per
// event in commit order: stream (16) + seq (8) + the event's SHA-256 (32). Older logs hold one
// 24-byte entry (no hash) per key.
constexpr size_t kGlobalRefBytes = 24;
constexpr size_t kGlobalEntryBytes = 56;
constexpr uint64_t kEventKeyBytes = 24;  // stream + seq
// In the default column family: the global seq that the stored heads reflect.
constexpr const char* kHeadsMarker = "heads_gseq";
// In the default column family: an org's stored bytes as of the heads marker,
// key kOrgBytesPrefix + org id → u64.
constexpr std::string_view kOrgBytesPrefix{"org_bytes\0", 10};

// RocksDB's own recovery from a background error (a failed WAL write or flush) touches the WAL
// writer that saw the error, which trips an assert in Debian's RocksDB 7.8 and aborts the
// process. The log recovers by itself instead (probe_writable → Resume, only once there is room).
class NoAutoRecovery : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

// RocksDB's info log goes to stderr, not to a LOG file in the data dir: a LOG write that met a
// full disk leaves its file writer failed, and the next line logged (say, the flush error)
// trips the same assert as a failed WAL writer.
class StderrLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logger;
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    std::fprintf(stderr, "rocksdb: %s\n", line);
  }
};

}  // namespace

std::string event_key(const std::string& stream, uint64_t seq) {
  std::string k = stream;
  put_u64(k, seq);
  return k;
}

bool parse_event_key(std::string_view key, std::string* stream, uint64_t* seq) {
  if (key.size() != 24) return false;
  *stream = std::string(key.substr(0, 16));
  *seq = get_u64(key.substr(16));
  return true;
}

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& dir, OpenMode mode) {
  std::unique_ptr<EventLog> log(new EventLog());
  log->mode_ = mode;
  log->dir_ = dir;
  log->free_space_ = [dir] { return statvfs_free(dir); };
  rocksdb::DBOptions opts;
  opts.create_if_missing = mode == OpenMode::kReadWrite;
  opts.create_missing_column_families = mode == OpenMode::kReadWrite;
  opts.max_open_files = mode == OpenMode::kSecondary ? -1 : 512;
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  opts.info_log = std::make_shared<StderrLogger>(rocksdb::InfoLogLevel::WARN_LEVEL);
  opts.keep_log_file_num = 2;
  // Bound memtable memory across all column families (the heads family rewrites one key per
  // event, so without a cap its memtable holds every version until a flush).
  opts.db_write_buffer_size = 64 << 20;
  opts.listeners.push_back(std::make_shared<NoAutoRecovery>());
  if (mode != OpenMode::kReadWrite && !std::filesystem::exists(dir + "/CURRENT"))
    return make_error(ErrorCode::kNotFound, "not_found",
                      "no Enclave data dir at " + dir + " (no RocksDB CURRENT file)");
  if (mode == OpenMode::kReadWrite) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (auto e = make_private(dir); !e.empty())
      return make_error(ErrorCode::kInternal, "data_dir_not_private",
                        "cannot make the data dir private: " + e);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* n : kCfNames) cfs.emplace_back(n, column_family_options(n));
  if (mode != OpenMode::kReadWrite) {  // a data dir made before the Merkle tree has no family
    std::vector<std::string> present;
    (void)rocksdb::DB::ListColumnFamilies(opts, dir, &present);
    if (std::find(present.begin(), present.end(), "merkle") == present.end()) cfs.pop_back();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st;
  if (mode == OpenMode::kReadWrite) {
    st = rocksdb::DB::Open(opts, dir, cfs, &log->handles_, &raw);
  } else if (mode == OpenMode::kReadOnly) {
    st = rocksdb::DB::OpenForReadOnly(opts, dir, cfs, &log->handles_, &raw);
  } else {
    std::string secondary =
        std::filesystem::temp_directory_path() / ("enclave-secondary-" + to_hex(new_stream_id()));
    st = rocksdb::DB::OpenAsSecondary(opts, dir, secondary, cfs, &log->handles_, &raw);
  }
  if (!st.ok()) return storage_error("cannot open event log at " + dir, st);
  log->db_.reset(raw);
  log->events_ = log->handles_[1];
  log->streams_ = log->handles_[2];
  log->global_ = log->handles_[3];
  log->org_index_ = log->handles_[4];
  log->snapshots_ = log->handles_[5];
  if (auto r = log->load_heads(); !r) return r.error();
  if (log->handles_.size() > 6) {
    log->merkle_cf_ = log->handles_[6];
    auto m = MerkleStore::open(raw, log->merkle_cf_);
    if (!m) return m.error();
    log->merkle_ = std::move(*m);
    if (mode == OpenMode::kReadWrite && log->merkle_->size() != log->global_seq_)
      if (auto r = log->backfill_merkle(); !r) return r.error();
  }
  return log;
}

EventLog::~EventLog() {
  if (!db_) return;
  // A clean close leaves nothing in the WAL to replay, so the next open is fast (a crash still
  // replays at most one memtable per column family).
  if (mode_ == OpenMode::kReadWrite) {
    {
      std::lock_guard lock(mu_);
      if (write_failed_) {
        // Closing a DB whose WAL writer saw an error aborts the process (see kReserveBytes): leave
        // it to the OS. Everything acknowledged is in the fsynced WAL; the next open replays it.
        (void)db_.release();
        return;
      }
      if (room_for(0)) {
        // No room to flush: close without it (the next open replays the fsynced WAL).
        for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
        db_.reset();
        return;
      }
      if (!dirty_heads_.empty()) {
        rocksdb::WriteBatch batch;
        stage_heads(&batch, global_seq_, {});
        stage_org_bytes(&batch, {});
        rocksdb::WriteOptions wo;
        wo.sync = true;
        // If this fails, the next open rolls the heads forward; and as above, a DB whose write
        // failed is never closed.
        if (!db_->Write(wo, &batch).ok()) {
          (void)db_.release();
          return;
        }
      }
    }
    rocksdb::FlushOptions fo;
    (void)db_->Flush(fo, handles_);
  }
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_.reset();
}

Result<bool> EventLog::load_heads() {
  std::lock_guard lock(mu_);
  heads_.clear();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StreamHead h;
    if (!decode_head(it->value().ToStringView(), &h))
      return make_error(ErrorCode::kInternal, "corrupt_head",
                        "stream head of " + to_hex(it->key().ToString()) + " is malformed");
    heads_[it->key().ToString()] = std::move(h);
  }
  if (!it->status().ok()) return storage_error("reading stream heads", it->status());
  std::unique_ptr<rocksdb::Iterator> g(db_->NewIterator(rocksdb::ReadOptions(), global_));
  g->SeekToLast();
  global_seq_ = 0;
  if (g->Valid() && g->key().size() == 8) {
    size_t n = g->value().size();
    global_seq_ =
        get_u64(g->key().ToStringView()) + (n == kGlobalRefBytes ? 1 : n / kGlobalEntryBytes) - 1;
  }
  std::string marker;
  uint64_t heads_gseq = 0;  // no marker: heads of an older log (written per append), or none
  if (db_->Get(rocksdb::ReadOptions(), handles_[0], kHeadsMarker, &marker).ok() &&
      marker.size() == 8)
    heads_gseq = get_u64(marker);
  std::vector<std::string> moved;
  if (auto r = roll_forward(heads_, heads_gseq, &moved); !r) return r.error();
  if (auto r = load_org_bytes(heads_gseq); !r) return r.error();
  dirty_heads_.clear();
  dirty_heads_.insert(moved.begin(), moved.end());
  unpersisted_events_ = global_seq_ - std::min(global_seq_, heads_gseq);
  if (mode_ == OpenMode::kReadWrite && (!dirty_heads_.empty() || heads_gseq != global_seq_)) {
    // After a crash: persist what was rolled forward, so the tail is covered by heads again.
    rocksdb::WriteBatch batch;
    stage_heads(&batch, global_seq_, {});
    stage_org_bytes(&batch, {});
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto st = db_->Write(wo, &batch);
    if (!st.ok()) return storage_error("persisting stream heads", st);
    dirty_heads_.clear();
    unpersisted_events_ = 0;
  }
  return true;
}

Result<bool> EventLog::load_org_bytes(uint64_t heads_gseq) {
  std::lock_guard side(side_mu_);
  org_bytes_.clear();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[0]));
  bool any = false;
  for (it->Seek(kOrgBytesPrefix); it->Valid() && it->key().starts_with(kOrgBytesPrefix);
       it->Next()) {
    if (it->value().size() != 8) continue;
    any = true;
    auto org = it->key().ToStringView().substr(kOrgBytesPrefix.size());
    org_bytes_[std::string(org)] = get_u64(it->value().ToStringView());
  }
  if (!it->status().ok()) return storage_error("reading org byte counts", it->status());
  // A log written before the counts were kept is counted once from its start.
  const uint64_t from = any ? heads_gseq + 1 : 1;
  rocksdb::PinnableSlice value;
  return scan_refs(from, [&](uint64_t, std::string_view stream, uint64_t seq, std::string_view) {
    std::string s(stream);
    value.Reset();
    if (!db_->Get(rocksdb::ReadOptions(), events_, event_key(s, seq), &value).ok())
      return true;  // a missing event is roll_forward's and verify's to report
    if (auto h = heads_.find(s); h != heads_.end())
      org_bytes_[h->second.org_id] += kEventKeyBytes + value.size();
    return true;
  });
}

Result<bool> EventLog::scan_refs(
    uint64_t from,
    const std::function<bool(uint64_t, std::string_view, uint64_t, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> g(db_->NewIterator(rocksdb::ReadOptions(), global_));
  std::string start;
  put_u64(start, std::max<uint64_t>(from, 1));
  g->SeekForPrev(start);  // the batch that holds `from` may start before it
  if (!g->Valid()) g->SeekToFirst();
  for (; g->Valid(); g->Next()) {
    auto key = g->key().ToStringView();
    auto v = g->value().ToStringView();
    const bool legacy = v.size() == kGlobalRefBytes;
    if (key.size() != 8 || (!legacy && (v.empty() || v.size() % kGlobalEntryBytes != 0)))
      return make_error(ErrorCode::kInternal, "corrupt_global",
                        "global index entry " + to_hex(std::string(key)) + " is malformed");
    const size_t step = legacy ? kGlobalRefBytes : kGlobalEntryBytes;
    uint64_t gseq = get_u64(key);
    for (size_t off = 0; off < v.size(); off += step, ++gseq) {
      if (gseq < from) continue;
      auto e = v.substr(off, step);
      if (!fn(gseq, e.substr(0, 16), get_u64(e.substr(16, 8)), legacy ? "" : e.substr(24, 32)))
        return true;
    }
  }
  if (!g->status().ok()) return storage_error("global scan", g->status());
  return true;
}

Result<bool> EventLog::roll_forward(std::unordered_map<std::string, StreamHead>& heads,
                                    uint64_t heads_gseq, std::vector<std::string>* moved) const {
  std::optional<Error> err;
  std::string value;
  auto r = scan_refs(heads_gseq + 1, [&](uint64_t gseq, std::string_view sv, uint64_t seq,
                                         std::string_view hash) {
    std::string stream(sv);
    auto& head = heads[stream];
    if (seq <= head.seq) return true;  // already covered (older logs stored every head)
    if (seq != head.seq + 1) {
      err = make_error(ErrorCode::kInternal, "corrupt_head",
                       "stream " + to_hex(stream) + " jumps from seq " + std::to_string(head.seq) +
                           " to " + std::to_string(seq) + " at global seq " + std::to_string(gseq));
      return false;
    }
    if (hash.empty() || head.seq == 0) {
      auto st = db_->Get(rocksdb::ReadOptions(), events_, event_key(stream, seq), &value);
      if (!st.ok()) {
        err = storage_error("global index names a missing event", st);
        return false;
      }
      if (head.seq == 0) {
        events::Envelope e;
        if (!e.ParseFromString(value)) {
          err = make_error(ErrorCode::kInternal, "corrupt_event",
                           "event " + to_hex(stream) + "/1 is unreadable");
          return false;
        }
        head.org_id = e.org_id();
      }
    }
    head.seq = seq;
    head.hash = hash.empty() ? sha256(value) : std::string(hash);
    if (moved) moved->push_back(stream);
    return true;
  });
  if (!r) return r.error();
  if (err) return *err;
  return true;
}

void EventLog::stage_heads(void* batch_ptr, uint64_t global,
                           const std::unordered_map<std::string, StreamHead>& overlay) {
  auto& batch = *static_cast<rocksdb::WriteBatch*>(batch_ptr);
  for (const auto& [k, head] : overlay) batch.Put(streams_, k, encode_head(head));
  for (const auto& k : dirty_heads_)
    if (!overlay.count(k))
      if (auto it = heads_.find(k); it != heads_.end())
        batch.Put(streams_, k, encode_head(it->second));
  std::string marker;
  put_u64(marker, global);
  batch.Put(handles_[0], kHeadsMarker, marker);
}

void EventLog::stage_org_bytes(void* batch_ptr,
                               const std::unordered_map<std::string, uint64_t>& added) {
  auto& batch = *static_cast<rocksdb::WriteBatch*>(batch_ptr);
  auto put = [&](const std::string& org, uint64_t bytes) {
    std::string v;
    put_u64(v, bytes);
    batch.Put(handles_[0], std::string(kOrgBytesPrefix) + org, v);
  };
  for (const auto& [org, bytes] : org_bytes_) {
    auto a = added.find(org);
    put(org, bytes + (a == added.end() ? 0 : a->second));
  }
  for (const auto& [org, bytes] : added)
    if (!org_bytes_.count(org)) put(org, bytes);
}

Result<bool> EventLog::catch_up() {
  if (mode_ != OpenMode::kSecondary) return true;
  auto st = db_->TryCatchUpWithPrimary();
  if (!st.ok()) return storage_error("catching up with the primary", st);
  return load_heads();
}

Result<std::vector<Stored>> EventLog::stage(const std::vector<Append>& appends, void* batch_ptr,
                                            std::unordered_map<std::string, StreamHead>& heads,
                                            uint64_t& global, std::string& global_entries,
                                            std::unordered_map<std::string, uint64_t>& org_added) {
  auto& batch = *static_cast<rocksdb::WriteBatch*>(batch_ptr);
  std::vector<Stored> out;
  for (const auto& a : appends) {
    if (a.stream.size() != 16)
      return make_error(ErrorCode::kInvalidArgument, "bad_stream", "stream ids are 16 bytes");
    auto found = heads.find(a.stream);
    StreamHead head = found == heads.end() ? StreamHead{} : found->second;
    if (head.seq != a.expected_seq)
      return make_error(ErrorCode::kConflict, "append_conflict",
                        "stream " + to_hex(a.stream) + " is at seq " + std::to_string(head.seq) +
                            ", expected " + std::to_string(a.expected_seq));
    if (head.seq == 0 && !a.events.empty()) {
      const auto& first = a.events.front();
      head.org_id = first.org_id();
      std::string key = head.org_id + std::string(1, '\0');
      put_u64(key, global + 1);  // the global seq the stream's first event gets
      key += a.stream;
      char kind = first.has_session_created() ? 'S' : first.has_fleet_created() ? 'F' : 'K';
      batch.Put(org_index_, key, std::string(1, kind));
    }
    for (const auto& e : a.events) {
      if (e.stream() != a.stream || e.seq() != head.seq + 1)
        return make_error(ErrorCode::kInvalidArgument, "bad_seq",
                          "event for stream " + to_hex(e.stream()) + " seq " +
                              std::to_string(e.seq()) + " does not follow seq " +
                              std::to_string(head.seq) + " of " + to_hex(a.stream));
      Stored s;
      s.envelope = e;
      s.envelope.set_prev_hash(head.hash);
      s.global_seq = ++global;
      s.envelope.set_global_seq(s.global_seq);
      std::string bytes;
      s.envelope.SerializeToString(&bytes);
      s.hash = sha256(bytes);
      if (merkle_) merkle_leaves_ += merkle::leaf_hash(bytes);
      if (store_) store_rows_.push_back({s.global_seq, a.stream, e.seq(), bytes, s.hash});
      batch.Put(events_, event_key(a.stream, e.seq()), bytes);
      org_added[head.org_id] += kEventKeyBytes + bytes.size();
      global_entries += a.stream;
      put_u64(global_entries, e.seq());
      global_entries += s.hash;
      head.seq = e.seq();
      head.hash = s.hash;
      out.push_back(std::move(s));
    }
    heads[a.stream] = head;
  }
  return out;
}

Result<std::vector<Stored>> EventLog::append(const std::vector<Append>& appends, bool sync) {
  auto r = append_group({appends}, sync);
  return std::move(r.front());
}

std::vector<Result<std::vector<Stored>>> EventLog::append_group(
    const std::vector<std::vector<Append>>& group, bool sync) {
  return write_group(group, sync, true);
}

std::vector<Result<std::vector<Stored>>> EventLog::write_group(
    const std::vector<std::vector<Append>>& group, bool sync, bool to_store) {
  std::vector<Result<std::vector<Stored>>> results;
  results.reserve(group.size());
  if (mode_ != OpenMode::kReadWrite) {
    for (size_t i = 0; i < group.size(); ++i)
      results.emplace_back(
          make_error(ErrorCode::kPermissionDenied, "read_only", "the event log is open read-only"));
    return results;
  }
  std::lock_guard lock(mu_);
  rocksdb::WriteBatch batch;
  // Heads as they will be once this batch lands; entries that fail leave no trace in it.
  std::unordered_map<std::string, StreamHead> staged;
  std::unordered_map<std::string, uint64_t> org_added;
  uint64_t global = global_seq_;
  std::string global_entries;  // the batch's one global index value
  merkle_leaves_.clear();
  store_rows_.clear();
  for (const auto& appends : group) {
    const size_t entries_before = global_entries.size();
    const size_t leaves_before = merkle_leaves_.size();
    const size_t rows_before = store_rows_.size();
    batch.SetSavePoint();
    std::unordered_map<std::string, StreamHead> heads;
    for (const auto& a : appends) {
      auto s = staged.find(a.stream);
      if (s != staged.end()) {
        heads[a.stream] = s->second;
      } else if (auto h = heads_.find(a.stream); h != heads_.end()) {
        heads[a.stream] = h->second;
      }
    }
    uint64_t g = global;
    std::unordered_map<std::string, uint64_t> added;
    auto r = stage(appends, &batch, heads, g, global_entries, added);
    if (!r) {
      batch.RollbackToSavePoint();
      global_entries.resize(entries_before);
      merkle_leaves_.resize(leaves_before);
      store_rows_.resize(rows_before);
    } else {
      batch.PopSavePoint();
      for (auto& [k, v] : heads) staged[k] = v;
      for (auto& [org, n] : added) org_added[org] += n;
      global = g;
    }
    results.push_back(std::move(r));
  }
  if (batch.Count() == 0) return results;
  if (!global_entries.empty()) {
    // ONE global index key per batch (its first global seq), not one per event: the per-event
    // key was half of the writer's memtable inserts.
    std::string gk;
    put_u64(gk, global_seq_ + 1);
    batch.Put(global_, gk, global_entries);
  }
  // Heads go to disk every kHeadsEvery events (with the batch that crosses the mark), not per
  // append: rewriting a head per append was a third of the writer's instructions.
  const uint64_t appended = global - global_seq_;
  const bool persist_heads = unpersisted_events_ + appended >= kHeadsEvery;
  if (persist_heads) {  // heads (and org byte counts) as this batch leaves them
    stage_heads(&batch, global, staged);
    stage_org_bytes(&batch, org_added);
  }
  auto refuse = [&](const Error& e) {
    for (auto& r : results)
      if (r) r = e;
    return results;
  };
  if (write_failed_ && !try_resume()) return refuse(log_unavailable(unwritable_reason_));
  // 2 × the batch: once in the WAL now, once in the table file its memtable is flushed to.
  if (auto no_room = room_for(2 * batch.GetDataSize())) {
    set_unwritable(no_room->message);
    return refuse(*no_room);
  }
  if (store_ && to_store) {
    // The store of record first: what it refuses is refused as a whole, and this log, the
    // node's copy, need not be fsynced (the store is rebuilt from at open).
    if (auto r = store_->commit(store_rows_); !r) return refuse(r.error());
  }
  if (store_) sync = false;
  if (merkle_) merkle_->stage(batch, merkle_leaves_);  // the tree lands with its leaves
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto st = db_->Write(wo, &batch);
  if (merkle_) st.ok() ? merkle_->commit() : merkle_->abandon();
  if (!st.ok()) {
    // Nothing of the batch is acknowledged. RocksDB now holds a background error; the log takes
    // no write until try_resume() clears it (see kReserveBytes for why not RocksDB's own).
    write_failed_ = true;
    set_unwritable("a write failed: " + st.ToString());
    return refuse(log_unavailable(unwritable_reason_));
  }
  if (!writable_.load()) {
    unwritable_reason_.clear();
    writable_ = true;
  }
  {
    std::lock_guard side(side_mu_);
    for (auto& [org, n] : org_added) org_bytes_[org] += n;
  }
  bytes_appended_ += batch.GetDataSize();
  for (auto& [k, v] : staged) {
    if (!persist_heads) dirty_heads_.insert(k);
    heads_[k] = std::move(v);
  }
  if (persist_heads) {
    dirty_heads_.clear();
    unpersisted_events_ = 0;
  } else {
    unpersisted_events_ += appended;
  }
  global_seq_ = global;
  return results;
}

Result<bool> EventLog::scan_global_raw(
    uint64_t from_global, const std::function<bool(uint64_t, std::string_view, uint64_t,
                                                   std::string_view, std::string_view)>& fn) const {
  std::string value;
  return scan_refs(from_global, [&](uint64_t gseq, std::string_view stream, uint64_t seq,
                                    std::string_view hash) {
    auto st =
        db_->Get(rocksdb::ReadOptions(), events_, event_key(std::string(stream), seq), &value);
    if (!st.ok()) value.clear();
    return fn(gseq, stream, seq, hash, value);
  });
}

Result<bool> EventLog::backfill_merkle() {
  std::lock_guard lock(mu_);
  if (merkle_->size() > global_seq_)
    return make_error(ErrorCode::kInternal, "corrupt_tree",
                      "the Merkle tree has " + std::to_string(merkle_->size()) +
                          " leaves but the global index ends at " + std::to_string(global_seq_));
  std::optional<Error> err;
  auto flush = [&]() -> bool {
    rocksdb::WriteBatch batch;
    merkle_->stage(batch, merkle_leaves_);
    auto st = db_->Write(rocksdb::WriteOptions(), &batch);
    if (!st.ok()) {
      merkle_->abandon();
      err = storage_error("writing the Merkle tree", st);
      return false;
    }
    merkle_->commit();
    merkle_leaves_.clear();
    return true;
  };
  merkle_leaves_.clear();
  auto r =
      scan_global_raw(merkle_->size() + 1, [&](uint64_t gseq, std::string_view stream, uint64_t seq,
                                               std::string_view, std::string_view bytes) {
        if (bytes.empty()) {
          err = make_error(ErrorCode::kInternal, "corrupt_global",
                           "global seq " + std::to_string(gseq) + " names missing event " +
                               to_hex(std::string(stream)) + "/" + std::to_string(seq));
          return false;
        }
        merkle_leaves_ += merkle::leaf_hash(bytes);
        return merkle_leaves_.size() < 32 * 10'000 || flush();
      });
  if (!r) return r.error();
  if (err) return *err;
  if (!merkle_leaves_.empty() && !flush()) return *err;
  return true;
}

Result<std::vector<std::string>> EventLog::read_stream_bytes(const std::string& stream,
                                                             uint64_t from_seq,
                                                             uint64_t until_seq) const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  for (it->Seek(event_key(stream, from_seq)); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() != 24 || key.substr(0, 16) != stream || get_u64(key.substr(16)) > until_seq)
      break;
    out.emplace_back(it->value().ToStringView());
  }
  if (!it->status().ok()) return storage_error("reading stream", it->status());
  return out;
}

Result<std::vector<Stored>> EventLog::read_stream(const std::string& stream, uint64_t from_seq,
                                                  uint64_t until_seq) const {
  std::vector<Stored> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  std::string start = event_key(stream, from_seq);
  for (it->Seek(start); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() != 24 || key.substr(0, 16) != stream) break;
    uint64_t seq = get_u64(key.substr(16));
    if (seq > until_seq) break;
    Stored s;
    if (!s.envelope.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())))
      return make_error(ErrorCode::kInternal, "corrupt_event",
                        "event " + to_hex(stream) + "/" + std::to_string(seq) + " is unreadable");
    s.hash = sha256(it->value().ToStringView());
    out.push_back(std::move(s));
  }
  if (!it->status().ok()) return storage_error("reading stream", it->status());
  return out;
}

Result<uint64_t> EventLog::scan_global(uint64_t from_global,
                                       const std::function<bool(const Stored&)>& fn) const {
  uint64_t n = 0;
  std::optional<Error> err;
  std::string value;
  auto r = scan_refs(from_global, [&](uint64_t gseq, std::string_view stream, uint64_t seq,
                                      std::string_view) {
    auto st =
        db_->Get(rocksdb::ReadOptions(), events_, event_key(std::string(stream), seq), &value);
    if (!st.ok()) {
      err = storage_error("global ref to a missing event", st);
      return false;
    }
    Stored s;
    if (!s.envelope.ParseFromString(value)) {
      err = make_error(ErrorCode::kInternal, "corrupt_event", "unreadable event in global scan");
      return false;
    }
    s.hash = sha256(value);
    s.global_seq = gseq;
    ++n;
    return fn(s);
  });
  if (!r) return r.error();
  if (err) return *err;
  return n;
}

std::optional<StreamHead> EventLog::head(const std::string& stream) const {
  std::lock_guard lock(mu_);
  auto it = heads_.find(stream);
  if (it == heads_.end()) return std::nullopt;
  return it->second;
}

std::unordered_map<std::string, StreamHead> EventLog::heads() const {
  std::lock_guard lock(mu_);
  return heads_;
}

std::vector<std::string> EventLog::streams_of_org(const std::string& org_id) const {
  std::vector<std::string> out;
  (void)scan_org(org_id, 0, [&](uint64_t, const std::string& stream, char) {
    out.push_back(stream);
    return true;
  });
  return out;
}

Result<bool> EventLog::scan_org(
    const std::string& org_id, uint64_t after_gseq,
    const std::function<bool(uint64_t, const std::string&, char)>& fn) const {
  std::string prefix = org_id + std::string(1, '\0');
  std::string start = prefix;
  put_u64(start, after_gseq + 1);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), org_index_));
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto key = it->key().ToStringView().substr(prefix.size());
    if (key.size() != 24) continue;
    char kind = it->value().empty() ? '?' : it->value()[0];
    if (!fn(get_u64(key.substr(0, 8)), std::string(key.substr(8)), kind)) break;
  }
  if (!it->status().ok()) return storage_error("scanning the org index", it->status());
  return true;
}

uint64_t EventLog::last_global_seq() const {
  std::lock_guard lock(mu_);
  return global_seq_;
}

Result<bool> EventLog::scan_raw_events(
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  if (!it->status().ok()) return storage_error("scanning events", it->status());
  return true;
}

Result<std::vector<std::pair<std::string, StreamHead>>> EventLog::stored_heads() const {
  std::vector<std::pair<std::string, StreamHead>> out;
  std::unordered_map<std::string, StreamHead> stored;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), streams_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    StreamHead h;
    if (!decode_head(it->value().ToStringView(), &h)) h.seq = UINT64_MAX;  // reported by verify
    stored.emplace(it->key().ToString(), std::move(h));
  }
  if (!it->status().ok()) return storage_error("reading heads", it->status());
  std::string marker;
  uint64_t heads_gseq = 0;
  if (db_->Get(rocksdb::ReadOptions(), handles_[0], kHeadsMarker, &marker).ok() &&
      marker.size() == 8)
    heads_gseq = get_u64(marker);
  if (auto r = roll_forward(stored, heads_gseq, nullptr); !r) return r.error();
  out.assign(stored.begin(), stored.end());
  return out;
}

}  // namespace enclave::storage
