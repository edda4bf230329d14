// A replica's role (actors/replica.h) with an injected clock: taking the lease, renewing it,
// stepping down when another replica took it, self-fencing when the store is out of reach; and
// a takeover between two replicas over a real PostgreSQL lease.
#define BOOST_TEST_MODULE ha_replica
#include <boost/test/unit_test.hpp>
#include <vector>

#include "actors/replica.h"
#include "storage/postgres/pg_lease.h"
#include "tests/support/pg_server.h"

using namespace enclave;

namespace {

// A lease whose answers the test sets.
struct FakeLease : storage::Lease {
  bool free = true;        // try_acquire takes it
  bool reachable = true;   // false: every call fails (the store is out of reach)
  bool still_ours = true;  // renew's answer
  uint64_t epoch = 0;
  int renewals = 0;
  Result<storage::LeaseView> try_acquire() override {
    if (!reachable) return make_error(ErrorCode::kUnavailable, "log_unavailable", "down");
    if (!free) return storage::LeaseView{epoch, "other", "http://other", false, true, 60000};
    free = false;
    return storage::LeaseView{++epoch, "me", "http://me", true, true};
  }
  Result<bool> renew(uint64_t) override {
    ++renewals;
    if (!reachable) return make_error(ErrorCode::kUnavailable, "log_unavailable", "down");
    return still_ours;
  }
  void release(uint64_t) override { free = true; }
};

struct Rig {
  explicit Rig(storage::Lease& lease, int64_t ttl_ms = 3000, int64_t margin_ms = 500) {
    ReplicaOptions o;
    o.ttl_ms = ttl_ms;
    o.margin_ms = margin_ms;
    o.now_ms = [this] { return now; };
    ReplicaHooks h;
    h.follow = [this](int64_t) { ++follows; };
    h.take_over = [this](uint64_t e) -> Result<bool> {
      took.push_back(e);
      return true;
    };
    h.step_down = [this](const std::string& why) { downs.push_back(why); };
    replica = std::make_unique<Replica>(lease, o, h);
  }
  ~Rig() { replica->stop(); }  // joins the takeover thread
  int64_t now = 0;
  int follows = 0;
  std::vector<uint64_t> took;
  std::vector<std::string> downs;
  std::unique_ptr<Replica> replica;
};

}  // namespace

BOOST_AUTO_TEST_CASE(self_fence_deadline_is_renewal_plus_ttl_minus_margin) {
  struct Row {
    int64_t sent, ttl, margin, want;
  };
  for (const Row& r :
       {Row{0, 6000, 1000, 5000}, Row{10'000, 3000, 500, 12'500}, Row{7, 2000, 200, 1807}})
    BOOST_CHECK_EQUAL(self_fence_at(r.sent, r.ttl, r.margin), r.want);
}

BOOST_AUTO_TEST_CASE(a_standby_follows_until_the_lease_is_free_then_leads) {
  FakeLease lease;
  lease.free = false;
  Rig rig(lease);
  rig.replica->round();  // due at once: tries, is told another leads
  BOOST_CHECK(rig.replica->role() == Role::kStandby);
  BOOST_CHECK_EQUAL(rig.replica->leader_addr(), "http://other");
  rig.now = 500;
  rig.replica->round();  // not due (TTL/3 = 1000 ms): follows the log
  BOOST_CHECK_EQUAL(rig.follows, 1);
  lease.free = true;
  rig.now = 1000;
  rig.replica->round();
  BOOST_CHECK(rig.replica->role() == Role::kLeader);
  BOOST_CHECK_EQUAL(rig.replica->epoch(), 1u);
  rig.replica->stop();  // joins the takeover; a leader gives the lease back
  BOOST_REQUIRE_EQUAL(rig.took.size(), 1u);
  BOOST_CHECK_EQUAL(rig.took[0], 1u);
  BOOST_CHECK(lease.free);
}

BOOST_AUTO_TEST_CASE(a_leader_renews_every_third_of_the_ttl_and_never_self_fences_while_it_can) {
  FakeLease lease;
  Rig rig(lease);
  rig.replica->round();  // takes the lease at t=0
  for (rig.now = 0; rig.now <= 60'000; rig.now += 100) {
    rig.replica->round();
    BOOST_REQUIRE(!rig.replica->check_fence());
  }
  BOOST_CHECK_EQUAL(lease.renewals, 60);  // one per 1000 ms
  BOOST_CHECK(rig.downs.empty());
  BOOST_CHECK(rig.replica->role() == Role::kLeader);
}

BOOST_AUTO_TEST_CASE(a_leader_that_cannot_reach_the_store_stops_before_its_lease_can_expire) {
  FakeLease lease;
  Rig rig(lease, 3000, 500);
  rig.replica->round();  // takes the lease: sent at t=0, so it holds until ≥ 3000 (store clock)
  lease.reachable = false;
  for (rig.now = 100; rig.now < 2500; rig.now += 100) {
    rig.replica->round();  // renewals fail and are retried
    BOOST_REQUIRE(!rig.replica->check_fence());
  }
  BOOST_CHECK_GT(lease.renewals, 1);
  rig.now = 2500;  // renewal + TTL − margin
  BOOST_CHECK(rig.replica->check_fence());
  BOOST_CHECK(rig.replica->role() == Role::kStopped);
  BOOST_REQUIRE_EQUAL(rig.downs.size(), 1u);
  BOOST_CHECK(!rig.replica->check_fence());  // once
  rig.now = 10'000;
  lease.reachable = true;
  rig.replica->round();  // a stopped replica does nothing more
  BOOST_CHECK_EQUAL(rig.downs.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_leader_whose_epoch_moved_steps_down_at_its_next_renewal) {
  FakeLease lease;
  Rig rig(lease);
  rig.replica->round();
  lease.still_ours = false;
  rig.now = 1000;
  rig.replica->round();
  BOOST_CHECK(rig.replica->role() == Role::kStopped);
  BOOST_REQUIRE_EQUAL(rig.downs.size(), 1u);
  BOOST_CHECK(rig.downs[0].find("taken over") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(ha_takeover_between_two_replicas_on_postgres) {
  auto& server = test::PgServer::get();
  const std::string db = server.fresh_db();
  auto la = storage::pg::PgLease::open(db, "a", "http://a", 60'000);
  auto lb = storage::pg::PgLease::open(db, "b", "http://b", 60'000);
  BOOST_REQUIRE(la && lb);
  Rig a(**la, 60'000, 10'000), b(**lb, 60'000, 10'000);
  a.replica->round();
  b.replica->round();
  BOOST_CHECK(a.replica->role() == Role::kLeader);
  BOOST_CHECK(b.replica->role() == Role::kStandby);
  BOOST_CHECK_EQUAL(b.replica->leader_addr(), "http://a");
  // a stops renewing (killed); its lease runs out — forced here by the database's clock.
  server.sql(db, "UPDATE enclave_leases SET expires_at = now() - interval '1 second'");
  b.now = 20'000;
  b.replica->round();
  BOOST_CHECK(b.replica->role() == Role::kLeader);
  BOOST_CHECK_EQUAL(b.replica->epoch(), 2u);
  // a comes back (resumed after a SIGSTOP): its next renewal finds epoch 2 and it steps down.
  a.now = 20'000;
  a.replica->round();
  BOOST_CHECK(a.replica->role() == Role::kStopped);
  BOOST_CHECK_EQUAL(a.downs.size(), 1u);
  b.replica->stop();
  BOOST_REQUIRE_EQUAL(b.took.size(), 1u);
  BOOST_CHECK_EQUAL(b.took[0], 2u);
}
