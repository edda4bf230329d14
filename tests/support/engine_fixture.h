// Helpers for engine tests: an engine on the simulator over a temp dir, synchronous wrappers
// around the async commands, and a bounded wait for a condition on the committed state.
#pragma once

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <thread>

#include "actors/engine.h"
#include "backends/simulator/simulator.h"
#include "storage/event_log.h"
#include "storage/postgres/pg_store.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"

namespace enclave::testing {

// ENCLAVE_TEST_STORE=postgres (the CTest tier ha_engine_tests.*, issue 22): the same engine
// tests with the log's store of record on PostgreSQL — a throwaway server per test process, one
// database per data dir. The local copy (DIR/pglog) is wiped at each open, so every open,
// restarts included, rebuilds it from PostgreSQL alone.
inline bool on_postgres() {
  const char* s = std::getenv("ENCLAVE_TEST_STORE");
  return s && std::string(s) == "postgres";
}
// Where the engine's RocksDB log (or its local copy) is for the data dir `dir`.
inline std::string log_dir_of(const std::string& dir) {
  return on_postgres() ? dir + "/pglog" : dir;
}

inline std::unique_ptr<Engine> open_engine(const std::string& dir, uint32_t ceiling,
                                           EngineConfig cfg = {},
                                           backends::SimulatorConfig sim = {}) {
  cfg.data_dir = dir;
  cfg.max_concurrency = ceiling;
  if (on_postgres()) {
    static std::map<std::string, std::string> dbs;  // data dir → its database
    auto& db = dbs[dir];
    if (db.empty()) db = test::PgServer::get().fresh_db();
    auto store = storage::pg::PgStore::open(db);
    BOOST_REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().message));
    cfg.log_dir = log_dir_of(dir);
    std::error_code ec;
    std::filesystem::remove_all(cfg.log_dir, ec);
    cfg.log_store = std::move(*store);
  }
  auto e = Engine::open(
      cfg, [sim](backends::Sink sink) { return backends::make_simulator(sim, std::move(sink)); });
  BOOST_REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.error().message));
  return std::move(*e);
}

// Runs an async engine command and waits (bounded) for its callback.
template <typename T>
Result<T> call(const std::function<void(Callback<T>)>& cmd) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto f = p->get_future();
  cmd([p](Result<T> r) { p->set_value(std::move(r)); });
  if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    return make_error(ErrorCode::kInternal, "timeout", "no answer within 30 s");
  return f.get();
}

// Polls `pred` (on committed state) until it holds or `limit` passes.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

inline api::CreateSessionRequest batch(const std::string& code) {
  api::CreateSessionRequest r;
  r.set_code(code);
  r.set_language("python");
  return r;
}

inline bool fleet_done(Engine& e, const Principal& p, const std::string& id) {
  auto f = e.get_fleet(p, id);
  if (!f.ok()) return false;
  const auto& ph = f->phase();
  return ph == "completed" || ph == "partial" || ph == "failed";
}

// Every event of the data dir in commit order (engine must be closed).
inline std::vector<storage::Stored> all_events(const std::string& dir) {
  auto log = storage::EventLog::open(log_dir_of(dir), storage::OpenMode::kReadOnly);
  BOOST_REQUIRE(log.ok());
  std::vector<storage::Stored> out;
  auto r = (*log)->scan_global(1, [&](const storage::Stored& s) {
    out.push_back(s);
    return true;
  });
  BOOST_REQUIRE(r.ok());
  return out;
}

}  // namespace enclave::testing
