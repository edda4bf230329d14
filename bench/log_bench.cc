// The event log's write path against raw RocksDB, side by side in one run (figure 2 of issue 7):
//   1. single writer, one fsynced append per event   vs  raw RocksDB Put with sync=true
//   2. group commit: W writers through the CommitQueue  vs  raw RocksDB fsynced batches of the
//      same size as the queue actually formed
//   log_bench [EVENTS=20000] [WRITERS=64]

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "bench/raw_rocksdb.h"
#include "events/ids.h"
#include "storage/commit_queue.h"
#include "storage/event_log.h"

using namespace enclave;
using Steady = std::chrono::steady_clock;

namespace {

double since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

events::Envelope event(const std::string& stream, uint64_t seq) {
  events::Envelope e;
  e.set_stream(stream);
  e.set_seq(seq);
  e.set_at_ms(1'700'000'000'000 + static_cast<int64_t>(seq));
  e.set_org_id("bench");
  auto* t = e.mutable_exec_turn();
  t->set_turn(static_cast<uint32_t>(seq));
  t->set_stdout("hello from a turn\n");
  t->set_duration_ms(3);
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::stoull(argv[1]) : 20'000;
  size_t writers = argc > 2 ? std::stoul(argv[2]) : 64;
  auto base =
      std::filesystem::temp_directory_path() / ("enclave-logbench-" + to_hex(new_stream_id()));
  std::filesystem::create_directories(base);
  std::string probe;
  event(new_stream_id(), 1).SerializeToString(&probe);
  size_t bytes = probe.size() + 32;  // + prev_hash as stored

  // 1. single writer
  double single = 0;
  {
    auto log = std::move(
        *storage::EventLog::open((base / "single").string(), storage::OpenMode::kReadWrite));
    std::string s = new_stream_id();
    uint64_t m = std::min<uint64_t>(n, 5000);
    auto t0 = Steady::now();
    for (uint64_t i = 1; i <= m; ++i) (void)log->append({{s, i - 1, {event(s, i)}}});
    single = static_cast<double>(m) / since(t0);
    double raw = bench::raw_rocksdb_writes_per_s((base / "raw1").string(), m, bytes, 1);
    std::printf(
        "single writer, fsync per event: enclave %.0f events/s vs raw RocksDB %.0f -> ratio %.2f\n",
        single, raw, single / raw);
  }
  // 2. group commit with concurrent writers
  {
    auto log = std::move(
        *storage::EventLog::open((base / "group").string(), storage::OpenMode::kReadWrite));
    storage::CommitQueue q(*log, nullptr);
    std::atomic<uint64_t> done{0};
    auto t0 = Steady::now();
    std::vector<std::thread> ts;
    for (size_t w = 0; w < writers; ++w)
      ts.emplace_back([&, w] {
        std::string s = new_stream_id();
        for (uint64_t i = 1; i <= n / writers; ++i) {
          std::promise<void> p;
          q.submit({{s, i - 1, {event(s, i)}}}, [&](auto) { p.set_value(); });
          p.get_future().wait();  // each writer waits for its ack, like an actor does
          done++;
        }
      });
    for (auto& t : ts) t.join();
    double rate = static_cast<double>(done) / since(t0);
    double per_batch = static_cast<double>(q.submissions()) /
                       static_cast<double>(std::max<uint64_t>(q.batches(), 1));
    double raw = bench::raw_rocksdb_writes_per_s((base / "raw2").string(), done, bytes,
                                                 static_cast<size_t>(per_batch + 0.5));
    std::printf(
        "group commit, %zu writers (%.1f appends per fsync): enclave %.0f events/s vs raw "
        "RocksDB batches of that size %.0f -> ratio %.2f; vs single writer x%.1f\n",
        writers, per_batch, rate, raw, rate / raw, rate / single);
  }
  std::filesystem::remove_all(base);
  return 0;
}
