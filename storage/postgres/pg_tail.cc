#include "storage/postgres/pg_tail.h"

#include <poll.h>

#include <thread>

#include "storage/postgres/pg_store.h"

namespace enclave::storage::pg {

Result<std::unique_ptr<PgTail>> PgTail::open(const std::string& conninfo) {
  auto c = PgConn::connect(conninfo);
  if (!c) return c.error();
  std::unique_ptr<PgTail> t(new PgTail(std::move(*c)));
  (void)t->listen();
  return t;
}

bool PgTail::listen() {
  if (!conn_->alive() && !conn_->reset()) return listening_ = false;
  listening_ = conn_->exec(std::string("LISTEN ") + kLogChannel).ok();
  return listening_;
}

bool PgTail::wait(int timeout_ms) {
  if (!listening_ && !listen()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));  // down: poll only
    return false;
  }
  if (!conn_->notifications().empty()) return true;
  pollfd p{conn_->socket(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    if (!conn_->notifications().empty()) return true;
    if (!conn_->alive()) listening_ = false;
  }
  return false;
}

}  // namespace enclave::storage::pg
