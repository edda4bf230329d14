// The event log over PostgreSQL (storage/postgres, issue 22) against a throwaway server: the same
// events, chains, global order and Merkle tree as the RocksDB log; a replica rebuilt from the
// store; the backstops against a second writer (the keys, the lease epoch); the lease itself.
#define BOOST_TEST_MODULE ha_store
#include <boost/test/unit_test.hpp>
#include <map>
#include <tuple>

#include "events/ids.h"
#include "storage/event_log.h"
#include "storage/merkle_store.h"
#include "storage/postgres/pg_lease.h"
#include "storage/postgres/pg_store.h"
#include "tests/support/envelopes.h"
#include "tests/support/pg_server.h"
#include "tests/support/temp_dir.h"

using namespace enclave;
using namespace enclave::storage;
using enclave::test::ev;

namespace {

std::unique_ptr<EventLog> open_log(const TempDir& dir) {
  auto log = EventLog::open(dir.path(), OpenMode::kReadWrite);
  BOOST_REQUIRE(log);
  return std::move(*log);
}

std::unique_ptr<pg::PgStore> open_store(const std::string& conninfo) {
  auto s = pg::PgStore::open(conninfo);
  BOOST_REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

// The same batches, twice: a group of three submissions per round, one of them in conflict.
std::vector<std::vector<std::vector<Append>>> workload(const std::vector<std::string>& streams) {
  std::vector<std::vector<std::vector<Append>>> rounds;
  std::map<std::string, uint64_t> at;
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<Append>> group;
    for (size_t i = 0; i < streams.size(); ++i) {
      const auto& s = streams[(i + round) % streams.size()];
      const uint64_t n = 1 + (round + i) % 3;
      Append a{s, at[s], {}};
      for (uint64_t k = 1; k <= n; ++k) a.events.push_back(ev(s, at[s] + k, i % 2 ? "b" : "a"));
      at[s] += n;
      group.push_back({std::move(a)});
    }
    group.push_back({Append{streams[0], 0, {ev(streams[0], 1)}}});  // a stale head: conflicts
    rounds.push_back(std::move(group));
  }
  return rounds;
}

// Everything a reader can see of a log, as one comparable value.
struct Seen {
  std::vector<std::tuple<uint64_t, std::string, uint64_t, std::string>> global;
  std::map<std::string, std::pair<uint64_t, std::string>> heads;
  std::string root;
  std::vector<std::string> org_a;
  bool operator==(const Seen&) const = default;
};

Seen seen(const EventLog& log) {
  Seen out;
  BOOST_REQUIRE(log.scan_global(1, [&](const Stored& s) {
    out.global.emplace_back(s.global_seq, s.envelope.stream(), s.envelope.seq(), s.hash);
    return true;
  }));
  for (const auto& [k, h] : log.heads()) out.heads[k] = {h.seq, h.hash};
  auto root = log.merkle()->root(log.last_global_seq());
  BOOST_REQUIRE(root);
  out.root = *root;
  out.org_a = log.streams_of_org("a");
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(postgres_holds_the_same_log_as_rocksdb) {
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  std::vector<std::string> streams;
  for (int i = 0; i < 5; ++i) streams.push_back(new_stream_id());
  TempDir plain_dir, pg_dir, replica_dir;
  auto plain = open_log(plain_dir);
  auto store = open_store(db);
  auto on_pg = open_log(pg_dir);
  on_pg->set_store(store.get());
  size_t conflicts = 0;
  for (const auto& group : workload(streams)) {
    auto a = plain->append_group(group);
    auto b = on_pg->append_group(group);
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      BOOST_REQUIRE_EQUAL(a[i].ok(), b[i].ok());
      if (!a[i]) {
        BOOST_CHECK_EQUAL(b[i].error().reason, "append_conflict");
        ++conflicts;
        continue;
      }
      for (size_t k = 0; k < a[i]->size(); ++k) {
        BOOST_CHECK_EQUAL(a[i].value()[k].hash, b[i].value()[k].hash);
        BOOST_CHECK_EQUAL(a[i].value()[k].global_seq, b[i].value()[k].global_seq);
      }
    }
  }
  BOOST_CHECK_EQUAL(conflicts, 20u);  // the stale submission of each group, and only it
  const Seen want = seen(*plain);
  BOOST_CHECK(seen(*on_pg) == want);
  // The store holds exactly the committed events, in the same global order, with the same bytes.
  auto rows = store->read_after(0, 100'000);
  BOOST_REQUIRE(rows);
  BOOST_REQUIRE_EQUAL(rows->size(), want.global.size());
  for (size_t i = 0; i < rows->size(); ++i) {
    BOOST_CHECK_EQUAL((*rows)[i].gseq, i + 1);
    BOOST_CHECK_EQUAL((*rows)[i].hash, std::get<3>(want.global[i]));
    BOOST_CHECK_EQUAL(sha256((*rows)[i].bytes), (*rows)[i].hash);
  }
  // A replica rebuilt from the store alone (a restart, a standby) sees the same log.
  auto replica = open_log(replica_dir);
  auto caught = replica->catch_up_from(*store, {}, 7);  // several pages
  BOOST_REQUIRE(caught);
  BOOST_CHECK_EQUAL(*caught, want.global.size());
  BOOST_CHECK(seen(*replica) == want);
}

BOOST_AUTO_TEST_CASE(ha_replica_refuses_a_store_row_that_does_not_hash) {
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  auto store = open_store(db);
  TempDir dir, replica_dir;
  auto log = open_log(dir);
  log->set_store(store.get());
  const std::string s = new_stream_id();
  BOOST_REQUIRE(log->append({{s, 0, {ev(s, 1), ev(s, 2)}}}));
  // Someone edits an event in the database: the hash the store claims no longer holds.
  server.sql(db, "UPDATE enclave_events SET body = body || '\\x00'::bytea WHERE gseq = 2");
  auto replica = open_log(replica_dir);
  auto caught = replica->catch_up_from(*store);
  BOOST_REQUIRE(!caught);
  BOOST_CHECK_EQUAL(caught.error().reason, "store_diverged");
}

BOOST_AUTO_TEST_CASE(a_second_writer_is_refused_by_the_keys) {
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  auto store_a = open_store(db), store_b = open_store(db);
  TempDir da, db_dir;
  auto a = open_log(da), b = open_log(db_dir);
  a->set_store(store_a.get());
  b->set_store(store_b.get());
  const std::string s = new_stream_id(), t = new_stream_id();
  BOOST_REQUIRE(a->append({{s, 0, {ev(s, 1)}}}));
  // b never saw a's event: its next append reuses global seq 1 and is refused as a whole.
  bool told = false;
  store_b->on_fenced([&] { told = true; });
  auto r = b->append({{t, 0, {ev(t, 1)}}});
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().reason, "fenced");
  BOOST_CHECK(told);
  BOOST_CHECK(store_b->fenced());
  BOOST_CHECK_EQUAL(b->last_global_seq(), 0u);  // nothing taken locally either
  auto rows = store_a->read_after(0, 10);
  BOOST_REQUIRE(rows);
  BOOST_REQUIRE_EQUAL(rows->size(), 1u);
  BOOST_CHECK_EQUAL(rows->front().stream, s);
  // a goes on.
  BOOST_CHECK(a->append({{s, 1, {ev(s, 2)}}}));
}

BOOST_AUTO_TEST_CASE(a_second_writer_is_refused_by_the_epoch) {
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  auto lease_a = pg::PgLease::open(db, "a", "http://a", 60'000);
  auto lease_b = pg::PgLease::open(db, "b", "http://b", 60'000);
  BOOST_REQUIRE(lease_a && lease_b);
  auto va = (*lease_a)->try_acquire();
  BOOST_REQUIRE(va);
  BOOST_CHECK(va->mine);
  BOOST_CHECK_EQUAL(va->epoch, 1u);
  auto vb = (*lease_b)->try_acquire();  // live and a's: b is told who leads
  BOOST_REQUIRE(vb);
  BOOST_CHECK(!vb->mine);
  BOOST_CHECK(vb->live);
  BOOST_CHECK_EQUAL(vb->addr, "http://a");

  auto store_a = open_store(db), store_b = open_store(db);
  store_a->set_epoch(1);
  TempDir da, dbd;
  auto a = open_log(da);
  a->set_store(store_a.get());
  const std::string s = new_stream_id();
  BOOST_REQUIRE(a->append({{s, 0, {ev(s, 1)}}}));

  // a's lease runs out (forced: its expiry is moved into the past); b takes over with epoch 2.
  server.sql(db, "UPDATE enclave_leases SET expires_at = now() - interval '1 second'");
  vb = (*lease_b)->try_acquire();
  BOOST_REQUIRE(vb);
  BOOST_CHECK(vb->mine);
  BOOST_CHECK_EQUAL(vb->epoch, 2u);
  auto renewed = (*lease_a)->renew(1);
  BOOST_REQUIRE(renewed);
  BOOST_CHECK(!*renewed);  // a learns it lost the lease at its next renewal

  // a's next append is refused in the database, before any of it lands, even though its local
  // copy is current (the keys alone would have let it through).
  bool told = false;
  store_a->on_fenced([&] { told = true; });
  auto r = a->append({{s, 1, {ev(s, 2)}}});
  BOOST_REQUIRE(!r);
  BOOST_CHECK_EQUAL(r.error().reason, "fenced");
  BOOST_CHECK(told);
  // b catches up and writes under epoch 2.
  store_b->set_epoch(2);
  auto b = open_log(dbd);
  b->set_store(store_b.get());
  BOOST_REQUIRE(b->catch_up_from(*store_b));
  BOOST_CHECK(b->append({{s, 1, {ev(s, 2)}}}));
  auto last = store_b->last_gseq();
  BOOST_REQUIRE(last);
  BOOST_CHECK_EQUAL(*last, 2u);
}
