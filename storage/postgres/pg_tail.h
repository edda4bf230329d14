// A standby's wake-up: LISTEN enclave_log on its own connection, so a replica learns of each
// commit at once; the caller still polls (wait() returns after `timeout_ms` regardless), so a
// lost notification or a broken connection only delays it by one poll.
#pragma once

#include <memory>
#include <string>

#include "storage/postgres/pg_conn.h"

namespace enclave::storage::pg {

class PgTail {
 public:
  [[nodiscard]] static Result<std::unique_ptr<PgTail>> open(const std::string& conninfo);
  // Blocks until a commit is announced or `timeout_ms` passes. Whether one was announced.
  bool wait(int timeout_ms);

 private:
  explicit PgTail(std::unique_ptr<PgConn> c) : conn_(std::move(c)) {}
  bool listen();

  std::unique_ptr<PgConn> conn_;
  bool listening_ = false;
};

}  // namespace enclave::storage::pg
