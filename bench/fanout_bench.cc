// Fan-out on the simulator: one fleet of N members under a ceiling, submit → every member
// terminal, with events/s measured beside a raw batched RocksDB append of the same number of
// events of the same size, in the same run. Prints one line per figure.
//   fanout_bench [N=100000] [ceiling=256]
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "actors/engine.h"
#include "backends/simulator/simulator.h"
#include "bench/fleet_run.h"
#include "bench/raw_rocksdb.h"
#include "events/ids.h"
#include "storage/event_log.h"

using namespace enclave;

namespace {

long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::stoull(argv[1]) : 100'000;
  uint32_t ceiling = argc > 2 ? static_cast<uint32_t>(std::stoul(argv[2])) : 256;
  auto base = std::filesystem::temp_directory_path() / ("enclave-bench-" + to_hex(new_stream_id()));
  std::filesystem::create_directories(base);
  std::string data = (base / "data").string();

  // The engine's lifecycle lines (one per event at info) are an operator's choice, not the
  // engine's throughput: measured at warn, like a production fan-out that logs to a collector.
  spdlog::set_level(spdlog::level::warn);
  EngineConfig cfg;
  cfg.data_dir = data;
  cfg.max_concurrency = ceiling;
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
  const double submit_s = run.submit_s, total_s = run.total_s;
  // The figure is only worth printing for work that succeeded: every member, not a fast stream
  // of failures.
  engine->reset();  // waits for in-flight teardown events to be committed
  if (phase != "completed" || succeeded != n) {
    std::printf("INVALID fanout N=%llu: fleet %s, %llu of %llu members succeeded; no figure\n",
                static_cast<unsigned long long>(n), phase.empty() ? "not terminal" : phase.c_str(),
                static_cast<unsigned long long>(succeeded), static_cast<unsigned long long>(n));
    std::filesystem::remove_all(base);
    return 1;
  }
  uint64_t events = 0;
  size_t bytes = 0;
  {
    auto log = storage::EventLog::open(data, storage::OpenMode::kReadOnly);
    events = (*log)->last_global_seq();
    (void)(*log)->scan_raw_events([&](std::string_view, std::string_view v) {
      bytes += v.size();
      return true;
    });
  }
  double ours = static_cast<double>(events) / total_s;
  double raw = bench::raw_rocksdb_writes_per_s((base / "raw").string(), events,
                                               bytes / std::max<uint64_t>(events, 1), 1000);
  std::printf("fanout N=%llu ceiling=%u: phase=%s submit=%.2fs all-terminal=%.2fs events=%llu\n",
              static_cast<unsigned long long>(n), ceiling, phase.c_str(), submit_s, total_s,
              static_cast<unsigned long long>(events));
  std::printf("events/s: enclave %.0f vs raw batched RocksDB %.0f -> ratio %.2f (goal >= 0.5)\n",
              ours, raw, raw > 0 ? ours / raw : 0);
  std::printf("peak RSS: %ld MiB (goal <= 1024 at 100k)\n", peak_rss_mib());
  std::filesystem::remove_all(base);
  return 0;
}
