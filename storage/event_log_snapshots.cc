// Snapshots of ended sessions and fleets: derived, disposable, in their own column family, and
// written through the same room check as appends.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>

#include "storage/event_log.h"
#include "storage/event_log_internal.h"

namespace enclave::storage {

Result<bool> EventLog::put_snapshots(
    const std::vector<std::pair<std::string, std::string>>& snapshots) {
  if (mode_ != OpenMode::kReadWrite)
    return make_error(ErrorCode::kPermissionDenied, "read_only", "read-only");
  rocksdb::WriteBatch batch;
  for (const auto& [stream, bytes] : snapshots) batch.Put(snapshots_, stream, bytes);
  // Through the same room check as appends: RocksDB must never meet a full disk.
  std::lock_guard lock(mu_);
  if (write_failed_) return log_unavailable(unwritable_reason_);
  if (auto no_room = room_for(2 * batch.GetDataSize())) return *no_room;
  auto st = db_->Write(rocksdb::WriteOptions(), &batch);
  if (!st.ok()) {
    write_failed_ = true;
    set_unwritable("a snapshot write failed: " + st.ToString());
    return storage_error("snapshots", st);
  }
  return true;
}

Result<bool> EventLog::put_snapshot(const std::string& stream, const std::string& bytes) {
  return put_snapshots({{stream, bytes}});
}

Result<bool> EventLog::scan_snapshots(
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  if (!it->status().ok()) return storage_error("scanning snapshots", it->status());
  return true;
}

std::optional<std::string> EventLog::get_snapshot(const std::string& stream) const {
  std::string v;
  if (!db_->Get(rocksdb::ReadOptions(), snapshots_, stream, &v).ok()) return std::nullopt;
  return v;
}

}  // namespace enclave::storage
