// The event log on a temp dir: appends, optimistic concurrency, chains, global order, org index,
// group commit, read-only opening.
#define BOOST_TEST_MODULE storage
#include "storage/event_log.h"

#include <rocksdb/db.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "events/ids.h"
#include "storage/commit_queue.h"
#include "storage/verify.h"
#include "tests/support/envelopes.h"
#include "tests/support/temp_dir.h"

using namespace enclave;
using namespace enclave::storage;
using enclave::test::ev;

namespace {

// A data dir opened with plain RocksDB (every column family), to read or change what is stored
// underneath the EventLog.
struct RawDb {
  explicit RawDb(const std::string& dir) {
    rocksdb::Options o;
    BOOST_REQUIRE(rocksdb::DB::ListColumnFamilies(o, dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    BOOST_REQUIRE(rocksdb::DB::Open(o, dir, cfs, &handles, &db).ok());
  }
  ~RawDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  rocksdb::ColumnFamilyHandle* cf(const std::string& name) {
    return handles[std::find(names.begin(), names.end(), name) - names.begin()];
  }
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(event_log)

BOOST_AUTO_TEST_CASE(append_and_read_back_with_a_hash_chain) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log.ok());
  std::string s = new_stream_id();
  auto r = (*log)->append({Append{s, 0, {ev(s, 1), ev(s, 2)}}});
  BOOST_REQUIRE(r.ok());
  auto r2 = (*log)->append({Append{s, 2, {ev(s, 3)}}});
  BOOST_REQUIRE(r2.ok());
  auto back = (*log)->read_stream(s);
  BOOST_REQUIRE(back.ok());
  BOOST_REQUIRE_EQUAL(back->size(), 3u);
  BOOST_CHECK(back->at(0).envelope.prev_hash().empty());
  BOOST_CHECK_EQUAL(back->at(1).envelope.prev_hash(), back->at(0).hash);
  BOOST_CHECK_EQUAL(back->at(2).envelope.prev_hash(), back->at(1).hash);
  BOOST_CHECK_EQUAL((*log)->head(s)->seq, 3u);
  BOOST_CHECK_EQUAL((*log)->head(s)->hash, back->at(2).hash);
  auto part = (*log)->read_stream(s, 2, 2);
  BOOST_CHECK_EQUAL(part->size(), 1u);
}

// A stream's chain as read back verifies; a changed event, a gap or a head that does not match
// is named by seq.
BOOST_AUTO_TEST_CASE(verify_chain_names_the_first_broken_link) {
  TempDir dir;
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log.ok());
  std::string s = new_stream_id();
  BOOST_REQUIRE((*log)->append({Append{s, 0, {ev(s, 1), ev(s, 2), ev(s, 3)}}}).ok());
  auto back = (*log)->read_stream(s);
  auto head = *(*log)->head(s);
  BOOST_CHECK(verify_chain(*back, head).ok);
  BOOST_CHECK(verify_chain({}, StreamHead{}).ok);

  struct Case {
    const char* what;
    std::function<void(std::vector<Stored>&, StreamHead&)> damage;
    uint64_t seq;
  };
  std::vector<Case> cases = {
      {"event 2 changed", [](auto& v, auto&) { v[1].hash[0] ^= 1; }, 3},
      {"event 2 missing", [](auto& v, auto&) { v.erase(v.begin() + 1); }, 2},
      {"last event missing", [](auto& v, auto&) { v.pop_back(); }, 3},
      {"head moved", [](auto&, auto& h) { h.hash[5] ^= 1; }, 3},
  };
  for (const auto& c : cases) {
    auto events = *back;
    auto h = head;
    c.damage(events, h);
    auto r = verify_chain(events, h);
    BOOST_TEST_INFO(c.what);
    BOOST_CHECK(!r.ok);
    BOOST_CHECK_EQUAL(r.seq, c.seq);
    BOOST_CHECK(!r.problem.empty());
  }
}

BOOST_AUTO_TEST_CASE(a_moved_head_is_a_conflict_not_an_overwrite) {
  TempDir dir;
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
  std::string s = new_stream_id();
  BOOST_REQUIRE(log->append({Append{s, 0, {ev(s, 1)}}}).ok());
  auto stale = log->append({Append{s, 0, {ev(s, 1)}}});
  BOOST_REQUIRE(!stale.ok());
  BOOST_CHECK(stale.error().code == ErrorCode::kConflict);
  auto gap = log->append({Append{s, 1, {ev(s, 3)}}});
  BOOST_CHECK(!gap.ok());
  BOOST_CHECK_EQUAL(log->read_stream(s)->size(), 1u);
  // a multi-stream append fails as a whole
  std::string t = new_stream_id();
  auto both = log->append({Append{t, 0, {ev(t, 1)}}, Append{s, 0, {ev(s, 1)}}});
  BOOST_CHECK(!both.ok());
  BOOST_CHECK(!log->head(t).has_value());
}

BOOST_AUTO_TEST_CASE(global_order_org_index_and_reopen) {
  TempDir dir;
  std::string a = new_stream_id(), b = new_stream_id();
  {
    auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
    BOOST_REQUIRE(log->append({Append{a, 0, {ev(a, 1)}}}).ok());
    BOOST_REQUIRE(log->append({Append{b, 0, {ev(b, 1, "globex")}}}).ok());
    BOOST_REQUIRE(log->append({Append{a, 1, {ev(a, 2)}}}).ok());
  }
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadOnly));
  std::vector<std::pair<std::string, uint64_t>> order;
  auto n = log->scan_global(1, [&](const Stored& s) {
    order.emplace_back(s.envelope.stream(), s.global_seq);
    return true;
  });
  BOOST_REQUIRE(n.ok());
  BOOST_REQUIRE_EQUAL(order.size(), 3u);
  BOOST_CHECK(order[0].first == a && order[1].first == b && order[2].first == a);
  BOOST_CHECK_EQUAL(order[2].second, 3u);
  BOOST_CHECK_EQUAL(log->last_global_seq(), 3u);
  BOOST_CHECK(log->streams_of_org("acme") == std::vector<std::string>{a});
  BOOST_CHECK(log->streams_of_org("globex") == std::vector<std::string>{b});
  BOOST_CHECK(!log->append({Append{a, 2, {ev(a, 3)}}}).ok());  // read-only never writes
}

BOOST_AUTO_TEST_CASE(group_commit_isolates_failures_and_batches_writes) {
  TempDir dir;
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
  std::atomic<size_t> projected{0};
  std::string s = new_stream_id();
  {
    CommitQueue q(*log, [&](const std::vector<const Stored*>& b) { projected += b.size(); });
    std::vector<std::promise<bool>> done(200);
    std::vector<std::string> streams;
    for (int i = 0; i < 200; ++i) streams.push_back(new_stream_id());
    for (int i = 0; i < 200; ++i)
      q.submit({Append{streams[i], 0, {ev(streams[i], 1)}}},
               [&, i](Result<std::vector<Stored>> r) { done[i].set_value(r.ok()); });
    std::promise<bool> bad;
    q.submit({Append{streams[0], 5, {ev(streams[0], 6)}}},
             [&](Result<std::vector<Stored>> r) { bad.set_value(r.ok()); });
    for (auto& d : done) BOOST_CHECK(d.get_future().get());
    BOOST_CHECK(!bad.get_future().get());
    BOOST_CHECK_LT(q.batches(), 201u);  // several submissions share an fsync
  }
  BOOST_CHECK_EQUAL(projected.load(), 200u);
  BOOST_CHECK_EQUAL(log->last_global_seq(), 200u);
}

BOOST_AUTO_TEST_CASE(open_missing_dir_read_only_is_an_error) {
  TempDir dir;
  auto r = EventLog::open(dir.path() + "/nope", OpenMode::kReadOnly);
  BOOST_CHECK(!r.ok());
  BOOST_CHECK(r.error().code == ErrorCode::kNotFound);
}

// Heads are persisted every kHeadsEvery events and at close, not per append. A crash image (the
// dir copied while the log is open: WAL but no close) must still open with exact heads, rolled
// forward from the global index, and verify must still notice a tampered last event.
BOOST_AUTO_TEST_CASE(heads_roll_forward_after_a_crash_and_still_guard_the_tail) {
  TempDir dir, image;
  std::string a = new_stream_id(), b = new_stream_id();
  std::string a_hash;
  {
    auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
    BOOST_REQUIRE(log->append({Append{a, 0, {ev(a, 1), ev(a, 2)}}}).ok());
    BOOST_REQUIRE(log->append({Append{b, 0, {ev(b, 1, "other")}}}).ok());
    BOOST_REQUIRE(log->append({Append{a, 2, {ev(a, 3)}}}).ok());
    a_hash = log->head(a)->hash;
    // the crash image: copied while open, so nothing of the close ran
    std::filesystem::copy(dir.path(), image.path(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
  }
  {
    auto ro = std::move(*EventLog::open(image.path(), OpenMode::kReadOnly));
    BOOST_CHECK_EQUAL(ro->head(a)->seq, 3u);
    BOOST_CHECK_EQUAL(ro->head(a)->hash, a_hash);
    BOOST_CHECK_EQUAL(ro->head(b)->org_id, "other");
    auto stored = ro->stored_heads();
    BOOST_REQUIRE(stored.ok());
    BOOST_CHECK_EQUAL(stored->size(), 2u);
  }
  {
    // flip a byte of a's last event, in the crash image: the global index still holds its hash
    RawDb raw(image.path());
    std::string value;
    BOOST_REQUIRE(
        raw.db->Get(rocksdb::ReadOptions(), raw.cf("events"), event_key(a, 3), &value).ok());
    value[value.size() / 2] ^= 1;
    BOOST_REQUIRE(
        raw.db->Put(rocksdb::WriteOptions(), raw.cf("events"), event_key(a, 3), value).ok());
  }
  auto ro = std::move(*EventLog::open(image.path(), OpenMode::kReadOnly));
  auto rep = verify_log(*ro);
  BOOST_CHECK(!rep.ok);
  BOOST_CHECK_EQUAL(rep.stream_hex, to_hex(a));
  // the clean original: heads persisted at close, verify passes, reopening rolls nothing
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
  BOOST_CHECK_EQUAL(log->head(a)->hash, a_hash);
  BOOST_CHECK(verify_log(*log).ok);
}

BOOST_AUTO_TEST_CASE(heads_are_persisted_every_kHeadsEvery_events) {
  TempDir dir;
  std::string s = new_stream_id();
  {
    auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
    for (uint64_t i = 0; i < EventLog::kHeadsEvery + 5; i += 5) {
      std::vector<events::Envelope> evs;
      for (uint64_t k = 1; k <= 5; ++k) evs.push_back(ev(s, i + k));
      BOOST_REQUIRE(log->append({Append{s, i, evs}}, /*sync=*/false).ok());
    }
    std::filesystem::copy(dir.path(), dir.path() + "-image",
                          std::filesystem::copy_options::recursive);
  }
  // In the crash image the head stored underneath is the one written with the batch that
  // crossed kHeadsEvery (no close ran), and the heads marker says which global seq it reflects.
  {
    RawDb raw(dir.path() + "-image");
    std::string head, marker;
    BOOST_REQUIRE(raw.db->Get(rocksdb::ReadOptions(), raw.cf("streams"), s, &head).ok());
    BOOST_REQUIRE(
        raw.db->Get(rocksdb::ReadOptions(), raw.cf("default"), "heads_gseq", &marker).ok());
    auto u64 = [](const std::string& b) {
      uint64_t v = 0;
      for (int i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(b[i]);
      return v;
    };
    BOOST_REQUIRE_GE(head.size(), 8u);
    BOOST_REQUIRE_EQUAL(marker.size(), 8u);
    BOOST_CHECK_EQUAL(u64(head), EventLog::kHeadsEvery);  // not per append: 5 events behind
    BOOST_CHECK_EQUAL(u64(marker), EventLog::kHeadsEvery);
  }
  // Opening rolls it forward to the last event.
  auto ro = std::move(*EventLog::open(dir.path() + "-image", OpenMode::kReadOnly));
  BOOST_CHECK_EQUAL(ro->head(s)->seq, EventLog::kHeadsEvery + 5);
  BOOST_CHECK(verify_log(*ro).ok);
  std::filesystem::remove_all(dir.path() + "-image");
}

// One global index key per committed batch: a scan may start in the middle of a batch.
BOOST_AUTO_TEST_CASE(global_scan_starts_inside_a_batch) {
  TempDir dir;
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
  std::string a = new_stream_id(), b = new_stream_id();
  auto r = log->append_group({{Append{a, 0, {ev(a, 1), ev(a, 2)}}}, {Append{b, 0, {ev(b, 1)}}}});
  BOOST_REQUIRE(r[0].ok() && r[1].ok());
  BOOST_REQUIRE(log->append({Append{a, 2, {ev(a, 3)}}}).ok());
  std::vector<std::pair<std::string, uint64_t>> seen;
  auto n = log->scan_global(2, [&](const Stored& s) {
    seen.emplace_back(s.envelope.stream(), s.global_seq);
    return true;
  });
  BOOST_REQUIRE(n.ok());
  BOOST_CHECK_EQUAL(*n, 3u);
  std::vector<std::pair<std::string, uint64_t>> want = {{a, 2}, {b, 3}, {a, 4}};
  BOOST_CHECK(seen == want);
  BOOST_CHECK_EQUAL(log->last_global_seq(), 4u);
  log.reset();
  auto ro = std::move(*EventLog::open(dir.path(), OpenMode::kReadOnly));
  BOOST_CHECK_EQUAL(ro->last_global_seq(), 4u);
  BOOST_CHECK(verify_log(*ro).ok);
}

BOOST_AUTO_TEST_CASE(data_dir_is_private_to_its_owner) {
  // The attack: as uid 65534, read an env secret from the WAL of a 0755/0644 data dir. A data dir
  // left loose (an older build, a loose umask) is made private at open; under the server's umask
  // (077, set first thing in enclaved) every file RocksDB then writes is owner-only too.
  TempDir dir;
  const std::string data = dir.path() + "/data";
  std::filesystem::create_directories(data + "/old");
  ::chmod(data.c_str(), 0755);
  ::chmod((data + "/old").c_str(), 0755);
  { std::ofstream(data + "/old/leftover.log") << "secret-from-before"; }
  ::chmod((data + "/old/leftover.log").c_str(), 0644);
  const mode_t before = ::umask(077);
  {
    auto log = EventLog::open(data, OpenMode::kReadWrite);
    BOOST_REQUIRE(log.ok());
    const auto s = new_stream_id();
    auto e = ev(s, 1);
    e.mutable_egress_denied()->set_host("env-secret-in-the-wal");
    BOOST_REQUIRE((*log)->append({Append{s, 0, {e}}}).ok());
  }
  ::umask(before);
  struct stat st {};
  BOOST_REQUIRE(::stat(data.c_str(), &st) == 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0700u);
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data)) {
    BOOST_REQUIRE(::lstat(entry.path().c_str(), &st) == 0);
    if (S_ISLNK(st.st_mode)) continue;
    ++files;
    BOOST_CHECK_MESSAGE((st.st_mode & 077) == 0,
                        entry.path().string() << " has mode " << std::oct << (st.st_mode & 0777));
  }
  BOOST_CHECK_GT(files, 3u);  // RocksDB's own files were among those checked
}

BOOST_AUTO_TEST_SUITE_END()

// Storage bounds (issue 17): a write that would not fit on the disk is refused as a value before
// RocksDB sees it; the log is unwritable until a probe finds room, then takes the same append.
BOOST_AUTO_TEST_SUITE(log_full_disk)

BOOST_AUTO_TEST_CASE(a_full_disk_refuses_appends_as_values_and_recovers_by_itself) {
  TempDir dir;
  auto free = std::make_shared<std::atomic<uint64_t>>(UINT64_MAX);
  std::string s = new_stream_id();
  {
    auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
    log->set_free_space([free] { return std::optional<uint64_t>(free->load()); });
    BOOST_REQUIRE(log->append({{s, 0, {ev(s, 1)}}}).ok());
    BOOST_CHECK(log->writable());

    *free = EventLog::kReserveBytes;  // the reserve is all there is: no write fits
    auto refused = log->append({{s, 1, {ev(s, 2)}}});
    BOOST_REQUIRE(!refused.ok());
    BOOST_CHECK(refused.error().code == ErrorCode::kUnavailable);
    BOOST_CHECK_EQUAL(refused.error().reason, "log_unavailable");
    BOOST_CHECK_MESSAGE(refused.error().message.find("4.0 MiB free") != std::string::npos,
                        refused.error().message);
    BOOST_CHECK(!log->writable());
    BOOST_CHECK(!log->unwritable_reason().empty());
    BOOST_CHECK_EQUAL(log->head(s)->seq, 1u);  // nothing of the refused write is stored
    BOOST_CHECK(!log->probe_writable());       // still no room

    *free = UINT64_MAX;
    BOOST_CHECK(log->probe_writable());  // room again: writable without any append
    BOOST_CHECK(log->unwritable_reason().empty());
    BOOST_REQUIRE(log->append({{s, 1, {ev(s, 2)}}}).ok());

    // The commit queue turns the refusal into every submitter's value, then goes on.
    *free = 0;
    std::promise<Result<std::vector<Stored>>> p1;
    {
      CommitQueue q(*log, nullptr);
      q.submit({{s, 2, {ev(s, 3)}}}, [&](auto r) { p1.set_value(std::move(r)); });
      auto r1 = p1.get_future().get();
      BOOST_REQUIRE(!r1.ok());
      BOOST_CHECK_EQUAL(r1.error().reason, "log_unavailable");
      *free = UINT64_MAX;  // the next write checks the room again: the same append lands
      std::promise<Result<std::vector<Stored>>> p2;
      q.submit({{s, 2, {ev(s, 3)}}}, [&](auto r) { p2.set_value(std::move(r)); });
      BOOST_CHECK(p2.get_future().get().ok());
      BOOST_CHECK(log->writable());
    }
  }
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadOnly));
  BOOST_CHECK_EQUAL(log->head(s)->seq, 3u);
  auto report = verify_log(*log);
  BOOST_CHECK_MESSAGE(report.ok, report.problem);
}

BOOST_AUTO_TEST_CASE(org_bytes_count_what_is_stored_and_survive_reopen) {
  TempDir dir;
  std::string a1 = new_stream_id(), a2 = new_stream_id(), b1 = new_stream_id();
  auto expected = [&](const EventLog& log) {
    std::map<std::string, uint64_t> by_org;
    auto heads = log.heads();
    (void)log.scan_raw_events([&](std::string_view key, std::string_view value) {
      by_org[heads[std::string(key.substr(0, 16))].org_id] += key.size() + value.size();
      return true;
    });
    return by_org;
  };
  {
    auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadWrite));
    BOOST_REQUIRE(
        log->append({{a1, 0, {ev(a1, 1, "a"), ev(a1, 2, "a")}}, {b1, 0, {ev(b1, 1, "b")}}}).ok());
    // A failed entry of a group adds nothing.
    auto g = log->append_group({{{a2, 0, {ev(a2, 1, "a")}}}, {{b1, 0, {ev(b1, 1, "b")}}}});
    BOOST_REQUIRE(g[0].ok());
    BOOST_REQUIRE(!g[1].ok());
    auto want = expected(*log);
    BOOST_CHECK_EQUAL(log->org_bytes("a"), want["a"]);
    BOOST_CHECK_EQUAL(log->org_bytes("b"), want["b"]);
    BOOST_CHECK_GT(log->org_bytes("a"), log->org_bytes("b"));
    BOOST_CHECK_EQUAL(log->org_bytes("nobody"), 0u);
  }
  auto log = std::move(*EventLog::open(dir.path(), OpenMode::kReadOnly));
  auto want = expected(*log);
  BOOST_CHECK_EQUAL(log->org_bytes("a"), want["a"]);
  BOOST_CHECK_EQUAL(log->org_bytes("b"), want["b"]);
}

BOOST_AUTO_TEST_SUITE_END()
