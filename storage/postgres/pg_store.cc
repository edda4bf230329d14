#include "storage/postgres/pg_store.h"

namespace enclave::storage::pg {

namespace {

constexpr const char* kSchema = R"sql(
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT pg_advisory_xact_lock(7340011);
CREATE TABLE IF NOT EXISTS enclave_events (
  stream bytea NOT NULL,
  seq bigint NOT NULL,
  gseq bigint NOT NULL UNIQUE,
  body bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (stream, seq));
CREATE TABLE IF NOT EXISTS enclave_leases (
  part text PRIMARY KEY,
  epoch bigint NOT NULL,
  holder text NOT NULL,
  addr text NOT NULL,
  expires_at timestamptz NOT NULL);
CREATE OR REPLACE FUNCTION enclave_fence(p text, e bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM enclave_leases WHERE part = p AND epoch = e FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the log''s lease epoch is no longer %', e USING ERRCODE = 'EF001';
  END IF;
END $$;
COMMIT;
)sql";

// SQLSTATEs that mean another writer owns the log.
bool fenced_state(const std::string& s) { return s == "EF001" || s == "23505"; }

}  // namespace

Result<bool> ensure_schema(PgConn& conn) {
  auto r = conn.exec(kSchema);
  if (!r.ok()) {
    (void)conn.exec("ROLLBACK");
    return unavailable("creating the schema", r.message());
  }
  return true;
}

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo) {
  auto c = PgConn::connect(conninfo);
  if (!c) return c.error();
  if (auto r = ensure_schema(**c); !r) return r.error();
  return std::unique_ptr<PgStore>(new PgStore(std::move(*c)));
}

Error PgStore::fence(const std::string& why) {
  const bool first = !fenced_.exchange(true);
  if (first && on_fenced_) on_fenced_();
  return make_error(
      ErrorCode::kConflict, "fenced",
      "this server no longer owns the event log (another leader took it over): " + why);
}

Result<bool> PgStore::commit(const std::vector<LogRow>& rows) {
  if (rows.empty()) return true;
  std::lock_guard lock(mu_);
  if (fenced_) return fence("fenced earlier");
  if (!conn_->alive() && !conn_->reset())
    return unavailable("PostgreSQL is not reachable", conn_->error_message());
  std::string data;
  for (const auto& r : rows) {
    data += std::to_string(r.gseq);
    data += '\t';
    append_copy_bytea(data, r.stream);
    data += '\t';
    data += std::to_string(r.seq);
    data += '\t';
    append_copy_bytea(data, r.bytes);
    data += '\t';
    append_copy_bytea(data, r.hash);
    data += '\n';
  }
  // Two round trips: BEGIN, the epoch check and the COPY in one; NOTIFY and COMMIT in the other.
  std::string begin = "BEGIN;";
  if (uint64_t e = epoch_.load())
    begin += "SELECT enclave_fence('" + std::string(kLogPart) + "'," + std::to_string(e) + ");";
  auto c = conn_->copy_in(begin + "COPY enclave_events (gseq, stream, seq, body, hash) FROM STDIN",
                          data);
  if (!c.ok()) {
    (void)conn_->exec("ROLLBACK");
    if (fenced_state(c.sqlstate())) return fence(c.message());
    return unavailable("appending", c.message());
  }
  auto done = conn_->exec(std::string("NOTIFY ") + kLogChannel + ";COMMIT");
  if (!done.ok()) {
    if (fenced_state(done.sqlstate())) return fence(done.message());
    // The connection may have broken after the server committed: ask.
    if (conn_->reset() && landed(rows.back().gseq)) return true;
    return unavailable("committing", done.message());
  }
  return true;
}

bool PgStore::landed(uint64_t last_gseq) {
  auto r = conn_->exec_params("SELECT 1 FROM enclave_events WHERE gseq = $1",
                              {std::to_string(last_gseq)});
  return r.ok() && r.rows() == 1;
}

Result<uint64_t> PgStore::last_gseq() {
  std::lock_guard lock(mu_);
  if (!conn_->alive() && !conn_->reset())
    return unavailable("PostgreSQL is not reachable", conn_->error_message());
  auto r = conn_->exec("SELECT coalesce(max(gseq), 0) FROM enclave_events");
  if (!r.ok() || r.rows() != 1) return unavailable("reading the log's end", r.message());
  return std::stoull(r.cell(0, 0));
}

Result<std::vector<LogRow>> PgStore::read_after(uint64_t after, size_t limit) {
  std::lock_guard lock(mu_);
  if (!conn_->alive() && !conn_->reset())
    return unavailable("PostgreSQL is not reachable", conn_->error_message());
  auto r = conn_->exec_params(
      "SELECT gseq, stream, seq, body, hash FROM enclave_events WHERE gseq > $1 ORDER BY gseq "
      "LIMIT $2",
      {std::to_string(after), std::to_string(limit)}, true);
  if (!r.ok()) return unavailable("reading the log", r.message());
  std::vector<LogRow> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    LogRow row;
    row.gseq = binary_u64(r.cell(i, 0));
    row.stream = r.cell(i, 1);
    row.seq = binary_u64(r.cell(i, 2));
    row.bytes = r.cell(i, 3);
    row.hash = r.cell(i, 4);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace enclave::storage::pg
