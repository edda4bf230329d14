// The event log and a filling disk: every write first checks that it leaves room for itself, a
// flush of the memtables and kReserveBytes, so RocksDB never meets ENOSPC (Debian's 7.8 aborts
// on its own asserts after one); a failed write makes the log unwritable until it can resume.
#include <rocksdb/db.h>
#include <sys/statvfs.h>

#include "storage/event_log.h"
#include "storage/event_log_internal.h"

namespace enclave::storage {

namespace {

// "17.4 MiB": one decimal, so two figures a few KiB apart do not read the same.
std::string mib(uint64_t bytes) {
  const uint64_t tenths = bytes * 10 / (1ull << 20);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

}  // namespace

std::optional<uint64_t> statvfs_free(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return std::nullopt;
  return static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
}

Error log_unavailable(const std::string& why) {
  return make_error(ErrorCode::kUnavailable, "log_unavailable",
                    "the event log cannot take writes: " + why);
}

Error storage_error(const std::string& what, const rocksdb::Status& st) {
  return make_error(ErrorCode::kInternal, "storage_error", what + ": " + st.ToString());
}

std::optional<Error> EventLog::room_for(uint64_t batch_bytes) const {
  auto free = free_bytes();
  if (!free) return std::nullopt;
  uint64_t memtables = 0;
  (void)db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &memtables);
  const uint64_t need = batch_bytes + memtables + kReserveBytes;
  if (*free >= need) return std::nullopt;
  return log_unavailable("only " + mib(*free) +
                         " free on the data dir's filesystem; this write needs " + mib(need) +
                         " (the batch, a flush of the memtables, and the log's reserve)");
}

void EventLog::set_unwritable(const std::string& why) {
  unwritable_reason_ = why;
  writable_ = false;
}

bool EventLog::try_resume() {
  if (auto no_room = room_for(0)) {
    unwritable_reason_ = "a write failed and " + no_room->message;
    return false;
  }
  // Resume() flushes the memtables (room_for(0) made sure that fits) and starts a new WAL.
  auto st = db_->Resume();
  if (!st.ok()) {
    unwritable_reason_ = "a write failed and resuming failed: " + st.ToString();
    return false;
  }
  write_failed_ = false;
  unwritable_reason_.clear();
  writable_ = true;
  return true;
}

bool EventLog::probe_writable() {
  if (writable_.load() || mode_ != OpenMode::kReadWrite) return true;
  std::lock_guard lock(mu_);
  if (write_failed_) return try_resume();
  if (auto no_room = room_for(0)) {
    unwritable_reason_ = no_room->message;
    return false;
  }
  unwritable_reason_.clear();
  writable_ = true;
  return true;
}

std::string EventLog::unwritable_reason() const {
  std::lock_guard lock(mu_);
  return unwritable_reason_;
}

void EventLog::set_free_space(FreeSpace fn) {
  std::lock_guard lock(side_mu_);
  free_space_ = std::move(fn);
}

std::optional<uint64_t> EventLog::free_bytes() const {
  std::lock_guard lock(side_mu_);
  return free_space_ ? free_space_() : std::nullopt;
}

uint64_t EventLog::org_bytes(const std::string& org_id) const {
  std::lock_guard lock(side_mu_);
  auto it = org_bytes_.find(org_id);
  return it == org_bytes_.end() ? 0 : it->second;
}

}  // namespace enclave::storage
