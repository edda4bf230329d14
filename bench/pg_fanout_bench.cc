// Fan-out with the event log on PostgreSQL (issue 22): one fleet of N members under a ceiling on
// the simulator, the log's store of record a throwaway PostgreSQL 15 (initdb in a temp dir, as
// tests/support/pg_server.h starts it), submit → every member terminal; beside it, in the same run
// and on the same server, a raw batched COPY of the very same rows (bytes, hashes, keys) into a
// table of the same shape, one transaction per batch of 1,000. Prints one line per figure.
//   pg_fanout_bench [N=10000] [ceiling=256]
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "actors/engine.h"
#include "backends/simulator/simulator.h"
#include "bench/fleet_run.h"
#include "events/ids.h"
#include "storage/postgres/pg_store.h"
#include "tests/support/pg_server.h"

using namespace enclave;
using bench::seconds_since;
using bench::Steady;

namespace {

// COPY of `rows` into a fresh table shaped like enclave_events, `batch` rows per transaction.
double raw_copy_rows_per_s(const std::string& conninfo, const std::vector<storage::LogRow>& rows,
                           size_t batch) {
  auto c = storage::pg::PgConn::connect(conninfo);
  if (!c) return 0;
  auto& conn = **c;
  if (!conn.exec("CREATE TABLE raw_events (stream bytea NOT NULL, seq bigint NOT NULL, gseq bigint "
                 "NOT NULL UNIQUE, body bytea NOT NULL, hash bytea NOT NULL, PRIMARY KEY (stream, "
                 "seq))")
           .ok())
    return 0;
  std::vector<std::string> chunks;  // encoded before the clock starts: only the writes are timed
  for (size_t i = 0; i < rows.size(); i += batch) {
    std::string data;
    for (size_t k = i; k < std::min(rows.size(), i + batch); ++k) {
      const auto& r = rows[k];
      data += std::to_string(r.gseq) + '\t';
      storage::pg::append_copy_bytea(data, r.stream);
      data += '\t' + std::to_string(r.seq) + '\t';
      storage::pg::append_copy_bytea(data, r.bytes);
      data += '\t';
      storage::pg::append_copy_bytea(data, r.hash);
      data += '\n';
    }
    chunks.push_back(std::move(data));
  }
  auto t0 = Steady::now();
  for (const auto& data : chunks) {
    if (!conn.exec("BEGIN").ok()) return 0;
    if (!conn.copy_in("COPY raw_events (gseq, stream, seq, body, hash) FROM STDIN", data).ok())
      return 0;
    if (!conn.exec("COMMIT").ok()) return 0;
  }
  return static_cast<double>(rows.size()) / seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::stoull(argv[1]) : 10'000;
  uint32_t ceiling = argc > 2 ? static_cast<uint32_t>(std::stoul(argv[2])) : 256;
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  auto base = std::filesystem::temp_directory_path() / ("enclave-bench-" + to_hex(new_stream_id()));
  std::filesystem::create_directories(base);
  auto store = storage::pg::PgStore::open(db);
  if (!store) {
    std::fprintf(stderr, "store: %s\n", store.error().message.c_str());
    return 1;
  }
  std::shared_ptr<storage::pg::PgStore> shared = std::move(*store);

  spdlog::set_level(spdlog::level::warn);  // as fanout_bench: lifecycle lines are not the figure
  EngineConfig cfg;
  cfg.data_dir = (base / "data").string();
  cfg.log_dir = (base / "log").string();
  cfg.log_store = shared;
  cfg.max_concurrency = ceiling;
  cfg.cred_secret = std::string(32, 'k');
  auto engine = Engine::open(
      cfg, [](backends::Sink s) { return backends::make_simulator({.tick_ms = 2}, std::move(s)); });
  if (!engine) {
    std::fprintf(stderr, "open: %s\n", engine.error().message.c_str());
    return 1;
  }
  const auto run = bench::run_fleet(**engine, n);
  if (!run.error.empty()) {
    std::fprintf(stderr, "create: %s\n", run.error.c_str());
    return 1;
  }
  const std::string& phase = run.phase;
  const uint64_t succeeded = run.succeeded;
  const double total_s = run.total_s;
  engine->reset();
  if (phase != "completed" || succeeded != n) {
    std::printf("INVALID pg fanout N=%llu: fleet %s, %llu succeeded; no figure\n",
                static_cast<unsigned long long>(n), phase.c_str(),
                static_cast<unsigned long long>(succeeded));
    return 1;
  }
  auto rows = shared->read_after(0, SIZE_MAX / 2);
  if (!rows) return 1;
  // How many transactions the fan-out committed (group-commit batches, plus schema and reads).
  uint64_t commits = 0;
  if (auto c = storage::pg::PgConn::connect(db); c) {
    auto r =
        (*c)->exec("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
    if (r.ok() && r.rows() == 1) commits = std::stoull(r.cell(0, 0));
  }
  const double ours = static_cast<double>(rows->size()) / total_s;
  const double raw = raw_copy_rows_per_s(db, *rows, 1000);
  std::printf(
      "pg fanout N=%llu ceiling=%u: phase=%s all-terminal=%.2fs events=%zu "
      "transactions=%llu (%.1f events each)\n",
      static_cast<unsigned long long>(n), ceiling, phase.c_str(), total_s, rows->size(),
      static_cast<unsigned long long>(commits),
      commits ? static_cast<double>(rows->size()) / static_cast<double>(commits) : 0.0);
  std::printf(
      "events/s: enclave on postgres %.0f vs raw batched COPY %.0f -> ratio %.2f (goal "
      ">= 0.5)\n",
      ours, raw, raw > 0 ? ours / raw : 0);
  std::filesystem::remove_all(base);
  return 0;
}
