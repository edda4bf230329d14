#include "storage/postgres/pg_lease.h"

#include "storage/postgres/pg_store.h"

namespace enclave::storage::pg {

Result<std::unique_ptr<PgLease>> PgLease::open(const std::string& conninfo, std::string holder,
                                               std::string addr, int64_t ttl_ms) {
  auto c = PgConn::connect(conninfo);
  if (!c) return c.error();
  if (auto r = ensure_schema(**c); !r) return r.error();
  return std::unique_ptr<PgLease>(
      new PgLease(std::move(*c), std::move(holder), std::move(addr), ttl_ms));
}

bool PgLease::up() { return conn_->alive() || conn_->reset(); }

Result<LeaseView> PgLease::try_acquire() {
  std::lock_guard lock(mu_);
  if (!up()) return unavailable("taking the lease", conn_->error_message());
  // Free (no row) or expired by the database's clock: take it with the next epoch.
  auto took = conn_->exec_params(
      "INSERT INTO enclave_leases AS l (part, epoch, holder, addr, expires_at) "
      "VALUES ($1, 1, $2, $3, now() + $4 * interval '1 millisecond') "
      "ON CONFLICT (part) DO UPDATE SET epoch = l.epoch + 1, holder = EXCLUDED.holder, "
      "addr = EXCLUDED.addr, expires_at = EXCLUDED.expires_at WHERE l.expires_at < now() "
      "RETURNING epoch",
      {kLogPart, holder_, addr_, std::to_string(ttl_ms_)});
  if (!took.ok()) return unavailable("taking the lease", took.message());
  if (took.rows() == 1)
    return LeaseView{std::stoull(took.cell(0, 0)), holder_, addr_, true, true, ttl_ms_};
  auto now = conn_->exec_params(
      "SELECT epoch, holder, addr, expires_at > now(), "
      "floor(extract(epoch FROM expires_at - now()) * 1000)::bigint FROM enclave_leases "
      "WHERE part = $1",
      {kLogPart});
  if (!now.ok()) return unavailable("reading the lease", now.message());
  if (now.rows() != 1) return LeaseView{};
  LeaseView v;
  v.epoch = std::stoull(now.cell(0, 0));
  v.holder = now.cell(0, 1);
  v.addr = now.cell(0, 2);
  v.mine = v.holder == holder_;
  v.live = now.cell(0, 3) == "t";
  v.remaining_ms = std::stoll(now.cell(0, 4));
  return v;
}

Result<bool> PgLease::renew(uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (!up()) return unavailable("renewing the lease", conn_->error_message());
  auto r = conn_->exec_params(
      "UPDATE enclave_leases SET expires_at = now() + $3 * interval '1 millisecond' "
      "WHERE part = $1 AND epoch = $2 AND holder = $4 RETURNING epoch",
      {kLogPart, std::to_string(epoch), std::to_string(ttl_ms_), holder_});
  if (!r.ok()) return unavailable("renewing the lease", r.message());
  return r.rows() == 1;
}

void PgLease::release(uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (!up()) return;
  (void)conn_->exec_params(
      "UPDATE enclave_leases SET expires_at = now() - interval '1 millisecond' "
      "WHERE part = $1 AND epoch = $2 AND holder = $3",
      {kLogPart, std::to_string(epoch), holder_});
}

}  // namespace enclave::storage::pg
