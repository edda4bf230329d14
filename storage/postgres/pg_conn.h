// One libpq connection, owned: connect, run a statement, read its result, reconnect. Not
// thread-safe (each user holds its own, or a mutex). libpq's types stay in storage/postgres.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "events/error.h"

struct pg_conn;
struct pg_result;

namespace enclave::storage::pg {

// A statement's result: rows of binary or text cells (owned), or an error with its SQLSTATE.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* r);
  bool ok() const { return ok_; }
  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& message() const { return message_; }
  int rows() const;
  // The cell's bytes (binary results: the raw value); "" for NULL.
  std::string cell(int row, int col) const;
  bool null(int row, int col) const;

 private:
  std::shared_ptr<pg_result> r_;
  bool ok_ = false;
  std::string sqlstate_, message_;
};

class PgConn {
 public:
  // Connects (a libpq conninfo string, e.g. "host=/run/pg port=5432 dbname=enclave").
  [[nodiscard]] static Result<std::unique_ptr<PgConn>> connect(const std::string& conninfo);
  ~PgConn();
  // Runs `sql` (one or more statements, no parameters); the last statement's result.
  PgResult exec(const std::string& sql);
  // Runs one statement with text parameters; `binary`: cells come back in binary format.
  PgResult exec_params(const std::string& sql, const std::vector<std::string>& params,
                       bool binary = false);
  // COPY … FROM STDIN with `data` (COPY text format) as its whole input.
  PgResult copy_in(const std::string& sql, const std::string& data);
  // Whether the connection is up; reset() reconnects (true on success).
  bool alive() const;
  bool reset();
  // The socket, for waiting on notifications; -1 when down.
  int socket() const;
  // Reads what arrived and returns the channel names of NOTIFYs received since the last call.
  std::vector<std::string> notifications();
  std::string error_message() const;

 private:
  explicit PgConn(pg_conn* c) : c_(c) {}
  pg_conn* c_;
};

// 503 log_unavailable naming what failed and PostgreSQL's words.
Error unavailable(const std::string& what, const std::string& why);
// `bytes` as a bytea literal in COPY text format (\\x + hex).
void append_copy_bytea(std::string& out, const std::string& bytes);
// Big-endian int8 of a binary cell.
uint64_t binary_u64(const std::string& cell);

}  // namespace enclave::storage::pg
