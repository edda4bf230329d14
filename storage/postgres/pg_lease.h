// The write lease as a row of enclave_leases (pg_store.h), on its own connection so a renewal
// never waits behind an append.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "storage/lease.h"
#include "storage/postgres/pg_conn.h"

namespace enclave::storage::pg {

class PgLease : public Lease {
 public:
  // `holder`: this process's id; `addr`: its API address; `ttl_ms`: how long a take or a renewal
  // holds the lease, by the database's clock.
  [[nodiscard]] static Result<std::unique_ptr<PgLease>> open(const std::string& conninfo,
                                                             std::string holder, std::string addr,
                                                             int64_t ttl_ms);
  Result<LeaseView> try_acquire() override;
  Result<bool> renew(uint64_t epoch) override;
  void release(uint64_t epoch) override;

 private:
  PgLease(std::unique_ptr<PgConn> c, std::string holder, std::string addr, int64_t ttl_ms)
      : conn_(std::move(c)), holder_(std::move(holder)), addr_(std::move(addr)), ttl_ms_(ttl_ms) {}
  bool up();  // mu_ held

  std::mutex mu_;
  std::unique_ptr<PgConn> conn_;
  std::string holder_, addr_;
  int64_t ttl_ms_;
};

}  // namespace enclave::storage::pg
