// Helpers the event log's files share (storage/ only; nothing outside storage/ includes this).
#pragma once

#include <rocksdb/status.h>

#include <cstdint>
#include <optional>
#include <string>

#include "events/error.h"

namespace enclave::storage {

// Free bytes for an unprivileged writer on the filesystem holding `dir`; nullopt if unknown.
std::optional<uint64_t> statvfs_free(const std::string& dir);
// 503 log_unavailable: the log takes no writes now (`why` says why; it recovers by itself).
Error log_unavailable(const std::string& why);
// 500 storage_error naming what failed and RocksDB's status.
Error storage_error(const std::string& what, const rocksdb::Status& st);

}  // namespace enclave::storage
