#include "storage/postgres/pg_conn.h"

#include <libpq-fe.h>

namespace enclave::storage::pg {

PgResult::PgResult(pg_result* r) : r_(r, PQclear) {
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  ok_ = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN;
  if (!ok_) {
    if (r) {
      const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      sqlstate_ = s ? s : "";
      message_ = PQresultErrorMessage(r);
    } else {
      message_ = "no result (connection lost)";
    }
    while (!message_.empty() && message_.back() == '\n') message_.pop_back();
  }
}

int PgResult::rows() const { return r_ ? PQntuples(r_.get()) : 0; }

std::string PgResult::cell(int row, int col) const {
  if (!r_ || PQgetisnull(r_.get(), row, col)) return "";
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

bool PgResult::null(int row, int col) const { return !r_ || PQgetisnull(r_.get(), row, col); }

Result<std::unique_ptr<PgConn>> PgConn::connect(const std::string& conninfo) {
  pg_conn* c = PQconnectdb(conninfo.c_str());
  if (!c) return unavailable("connecting to PostgreSQL", "out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string why = PQerrorMessage(c);
    PQfinish(c);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return unavailable("connecting to PostgreSQL", why);
  }
  return std::unique_ptr<PgConn>(new PgConn(c));
}

PgConn::~PgConn() { PQfinish(c_); }

PgResult PgConn::exec(const std::string& sql) { return PgResult(PQexec(c_, sql.c_str())); }

PgResult PgConn::exec_params(const std::string& sql, const std::vector<std::string>& params,
                             bool binary) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  return PgResult(PQexecParams(c_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, binary ? 1 : 0));
}

PgResult PgConn::copy_in(const std::string& sql, const std::string& data) {
  PgResult start(PQexec(c_, sql.c_str()));
  if (!start.ok()) return start;
  if (PQputCopyData(c_, data.data(), static_cast<int>(data.size())) != 1 ||
      PQputCopyEnd(c_, nullptr) != 1) {
    PgResult failed(PQgetResult(c_));
    while (pg_result* r = PQgetResult(c_)) PQclear(r);
    return failed;
  }
  PgResult done(PQgetResult(c_));
  while (pg_result* r = PQgetResult(c_)) PQclear(r);
  return done;
}

bool PgConn::alive() const { return PQstatus(c_) == CONNECTION_OK; }

bool PgConn::reset() {
  PQreset(c_);
  return alive();
}

int PgConn::socket() const { return PQsocket(c_); }

std::vector<std::string> PgConn::notifications() {
  std::vector<std::string> out;
  PQconsumeInput(c_);
  while (PGnotify* n = PQnotifies(c_)) {
    out.emplace_back(n->relname);
    PQfreemem(n);
  }
  return out;
}

std::string PgConn::error_message() const {
  std::string m = PQerrorMessage(c_);
  while (!m.empty() && m.back() == '\n') m.pop_back();
  return m;
}

Error unavailable(const std::string& what, const std::string& why) {
  Error e = make_error(ErrorCode::kUnavailable, "log_unavailable",
                       "the event log cannot take writes: " + what + ": " + why);
  e.retry_after_s = 1;
  return e;
}

void append_copy_bytea(std::string& out, const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\\\x";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
}

uint64_t binary_u64(const std::string& cell) {
  uint64_t v = 0;
  for (size_t i = 0; i < cell.size() && i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(cell[i]);
  return v;
}

}  // namespace enclave::storage::pg
