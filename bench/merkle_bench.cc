// The Merkle tree's costs (issue 18), printed as figures:
//   1. tree append: µs per event that staging the tree adds to a commit (leaf hash + nodes +
//      tiles into the WriteBatch), beside the whole append of the same events without fsync
//   2. proof time: inclusion and consistency proofs at random points of an N-event log
//   3. verify rate: events/s of the tree-and-index pass of `enclave verify` beside a raw scan
//   merkle_bench [EVENTS=1000000] [BATCH=100]
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "events/ids.h"
#include "storage/event_log.h"
#include "storage/merkle_store.h"
#include "storage/verify_merkle.h"

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
  t->set_code_sha256(std::string(64, 'a'));
  t->set_stdout(std::string(120, 'x'));
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const uint64_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100;
  const std::string dir =
      std::filesystem::temp_directory_path() / ("merkle-bench-" + to_hex(new_stream_id()));
  auto log = storage::EventLog::open(dir, storage::OpenMode::kReadWrite);
  if (!log) return std::fprintf(stderr, "%s\n", log.error().message.c_str()), 1;

  // The log: `batch` streams appended per group commit, unsynced (the tree's share is what counts).
  std::vector<std::string> streams(batch);
  for (auto& s : streams) s = new_stream_id();
  std::vector<uint64_t> seqs(batch, 0);
  auto t0 = Steady::now();
  for (uint64_t done = 0; done < n; done += batch) {
    std::vector<std::vector<storage::Append>> group;
    for (uint64_t i = 0; i < batch && done + i < n; ++i)
      group.push_back({storage::Append{streams[i], seqs[i], {event(streams[i], seqs[i] + 1)}}});
    for (auto& r : (*log)->append_group(group, false))
      if (!r) return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
    for (uint64_t i = 0; i < batch && done + i < n; ++i) ++seqs[i];
  }
  const double append_s = since(t0);

  // 1. What the tree adds per event: a leaf hash of the stored bytes and the staging of nodes and
  // tiles, measured on a scratch store fed the same bytes.
  std::string bytes;
  event(streams[0], 1).SerializeToString(&bytes);
  rocksdb::WriteBatch wb;
  t0 = Steady::now();
  std::string leaves;
  uint64_t staged = 0;
  for (uint64_t done = 0; done < std::min<uint64_t>(n, 200'000); done += batch) {
    leaves.clear();
    for (uint64_t i = 0; i < batch; ++i) leaves += storage::merkle::leaf_hash(bytes);
    staged += batch;
    wb.Clear();
    const_cast<storage::MerkleStore*>((*log)->merkle())->stage(wb, leaves);
    const_cast<storage::MerkleStore*>((*log)->merkle())->abandon();
  }
  const double tree_us = since(t0) * 1e6 / static_cast<double>(staged);
  const double append_us = append_s * 1e6 / static_cast<double>(n);
  std::printf("events: %llu, group commit of %llu (unsynced)\n", (unsigned long long)n,
              (unsigned long long)batch);
  std::printf("append (log + tree):   %.2f us/event (%.0f events/s)\n", append_us, 1e6 / append_us);
  std::printf("tree share of append:  %.2f us/event (%.1f%% of the append)\n", tree_us,
              100.0 * tree_us / append_us);

  // 2. Proofs on the n-event tree.
  const auto* m = (*log)->merkle();
  std::mt19937_64 rng(42);
  const int proofs = 2000;
  t0 = Steady::now();
  for (int i = 0; i < proofs; ++i)
    if (!m->inclusion_proof(rng() % n, n)) return 1;
  const double incl_ms = since(t0) * 1e3 / proofs;
  t0 = Steady::now();
  for (int i = 0; i < proofs; ++i)
    if (!m->consistency_proof(1 + rng() % n, n)) return 1;
  const double cons_ms = since(t0) * 1e3 / proofs;
  std::printf("inclusion proof:       %.3f ms (mean of %d, tree of %llu)\n", incl_ms, proofs,
              (unsigned long long)n);
  std::printf("consistency proof:     %.3f ms\n", cons_ms);

  // 3. Verify's tree-and-index pass against a raw scan of the same events.
  log->reset();
  auto ro = storage::EventLog::open(dir, storage::OpenMode::kReadOnly);
  if (!ro) return 1;
  t0 = Steady::now();
  uint64_t raw = 0, sum = 0;
  (void)(*ro)->scan_raw_events([&](std::string_view, std::string_view v) {
    ++raw;
    sum += v.size();
    return true;
  });
  const double raw_s = since(t0);
  t0 = Steady::now();
  uint64_t parsed = 0;
  (void)(*ro)->scan_raw_events([&](std::string_view, std::string_view v) {
    events::Envelope e;
    parsed += e.ParseFromArray(v.data(), static_cast<int>(v.size()));
    return true;
  });
  const double parse_s = since(t0);
  t0 = Steady::now();
  auto rep = storage::verify_transparency(**ro, {});
  const double ver_s = since(t0);
  std::printf("raw scan:              %.0f events/s (%llu events, %llu bytes)\n",
              static_cast<double>(raw) / raw_s, (unsigned long long)raw, (unsigned long long)sum);
  std::printf("raw scan + parse:      %.0f events/s\n", static_cast<double>(parsed) / parse_s);
  std::printf("verify tree + index:   %.0f events/s (%.2fx the raw scan, %.2fx scan + parse) %s\n",
              static_cast<double>(rep.leaves) / ver_s, (rep.leaves / ver_s) / (raw / raw_s),
              (rep.leaves / ver_s) / (parsed / parse_s), rep.ok ? "ok" : rep.problem.c_str());
  ro->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
