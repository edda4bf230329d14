// Restart and offline replay with a long history (issue 6; figure 7 of issue 7).
//   restart_bench [EVENTS=1000000]
// Builds a data dir of about EVENTS historical events through the engine (simulator fleets),
// then, in the same run: engine restart-to-serving time with its checkpoint vs without (a full
// fold of the log), and the offline replay rate (fold of every stream through the server's
// apply) vs a raw RocksDB scan + protobuf parse of the same events.
#include <rocksdb/db.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "actors/engine.h"
#include "backends/simulator/simulator.h"
#include "events/ids.h"
#include "storage/replay.h"

using namespace enclave;
using Steady = std::chrono::steady_clock;

namespace {

double since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

Engine::BackendFactory sim() {
  return [](backends::Sink s) { return backends::make_simulator({.tick_ms = 0}, std::move(s)); };
}

std::unique_ptr<Engine> open(const std::string& dir) {
  EngineConfig cfg;
  cfg.data_dir = dir;
  cfg.max_concurrency = 512;
  auto e = Engine::open(cfg, sim());
  if (!e) {
    std::fprintf(stderr, "open: %s\n", e.error().message.c_str());
    std::exit(1);
  }
  return std::move(*e);
}

// Raw baseline: iterate the events column family and parse every value.
std::pair<uint64_t, double> raw_scan(const std::string& dir) {
  std::vector<std::string> names;
  rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir, &names);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> hs;
  rocksdb::DB* db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfs, &hs, &db).ok()) return {0, 1};
  rocksdb::ColumnFamilyHandle* ev = nullptr;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == "events") ev = hs[i];
  auto t0 = Steady::now();
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), ev));
  events::Envelope e;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()));
    ++n;
  }
  double s = since(t0);
  it.reset();
  for (auto* h : hs) db->DestroyColumnFamilyHandle(h);
  delete db;
  return {n, s};
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t target = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  auto base =
      std::filesystem::temp_directory_path() / ("enclave-restart-" + to_hex(new_stream_id()));
  std::string dir = (base / "data").string();
  const Principal p = default_principal();

  // ---- history ------------------------------------------------------------------------------
  auto t_build = Steady::now();
  uint64_t members = 0;
  {
    auto engine = open(dir);
    const uint64_t per_fleet = 10'000;
    while (members * 7 < target) {
      api::CreateFleetRequest req;
      for (uint64_t i = 0; i < per_fleet; ++i) req.add_members()->set_code("print(1)");
      std::promise<std::string> created;
      engine->create_fleet(p, req,
                           [&](Result<api::Fleet> f) { created.set_value(f ? f->id() : ""); });
      std::string id = created.get_future().get();
      while (true) {
        auto f = engine->get_fleet(p, id);
        if (f && f->phase() == "completed") break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      members += per_fleet;
    }
  }
  uint64_t events = 0;
  {
    auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
    events = (*log)->last_global_seq();
  }
  std::printf("history: %llu events (%llu sessions) built in %.1f s\n",
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(members),
              since(t_build));

  // ---- restart ------------------------------------------------------------------------------
  auto t0 = Steady::now();
  double with_checkpoint = 0;
  {
    auto engine = open(dir);
    auto s = engine->list_sessions(p, {"", "", 1, ""});  // serving: answers a read
    with_checkpoint = since(t0);
    if (!s || s->sessions_size() != 1) std::printf("restart did not serve a list\n");
  }
  {
    auto log = storage::EventLog::open(dir, storage::OpenMode::kReadWrite);
    (void)(*log)->put_snapshot(std::string("\0checkpoint", 11), "");  // force a full fold
  }
  t0 = Steady::now();
  double full_fold = 0;
  {
    auto engine = open(dir);
    (void)engine->list_sessions(p, {"", "", 1, ""});
    full_fold = since(t0);
  }
  std::printf(
      "restart to serving: %.3f s with checkpoint vs %.3f s folding the whole log "
      "(goal <= 1 s)\n",
      with_checkpoint, full_fold);

  // ---- offline replay ------------------------------------------------------------------------
  auto [raw_n, raw_s] = raw_scan(dir);
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  t0 = Steady::now();
  uint64_t streams = 0;
  auto folded = storage::replay_all(**log, {}, [&](const storage::StreamReplay&) { ++streams; });
  double replay_s = since(t0);
  double raw_rate = static_cast<double>(raw_n) / raw_s;
  double replay_rate = folded ? static_cast<double>(*folded) / replay_s : 0;
  std::printf(
      "offline replay: %.0f events/s (%llu streams) vs raw scan+parse %.0f events/s -> "
      "ratio %.2f (goal >= 0.8)\n",
      replay_rate, static_cast<unsigned long long>(streams), raw_rate,
      raw_rate > 0 ? replay_rate / raw_rate : 0);
  log->reset();
  if (!std::getenv("KEEP"))
    std::filesystem::remove_all(base);
  else
    std::printf("kept %s\n", dir.c_str());
  return 0;
}
