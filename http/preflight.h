// Checks enclaved makes before the slow part of its start (log replay, backend probe, warm pool),
// so that a second server fails at once and says why in words an operator can act on.
#pragma once

#include <cstdint>
#include <string>

namespace enclave::http {

// "" when HOST:PORT can be bound now; else why not ("127.0.0.1:8090 is already in use …").
// The real bind happens later; this only makes the common mistake fail fast.
std::string listen_preflight(const std::string& host, uint16_t port);

// "" when no other process holds the data dir's RocksDB lock (DIR/LOCK); else a sentence naming
// the dir and the holding process, instead of RocksDB's raw "While lock file" error.
std::string data_dir_preflight(const std::string& data_dir);

}  // namespace enclave::http
