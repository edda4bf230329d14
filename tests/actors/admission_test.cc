// The admission queue: ceiling, FIFO, withdrawal, restore; fair admission across orgs (one FIFO
// per org, orgs round-robin, weights, max_live).
#define BOOST_TEST_MODULE admission
#include "actors/admission.h"

#include <boost/test/unit_test.hpp>
#include <cctype>

using namespace enclave;
using G = AdmissionQueue::Grant;
using Pk = AdmissionQueue::Parked;

BOOST_AUTO_TEST_SUITE(admission_queue)

BOOST_AUTO_TEST_CASE(grants_up_to_the_ceiling_then_parks_in_order) {
  AdmissionQueue q(2);
  BOOST_CHECK(std::holds_alternative<G>(q.enqueue("a")));
  BOOST_CHECK(std::holds_alternative<G>(q.enqueue("b")));
  auto c = q.enqueue("c");
  auto d = q.enqueue("d");
  BOOST_REQUIRE(std::holds_alternative<Pk>(c));
  BOOST_CHECK_EQUAL(std::get<Pk>(c).queued, 1u);
  BOOST_CHECK_EQUAL(std::get<Pk>(d).queued, 2u);
  BOOST_CHECK_EQUAL(q.active(), 2u);
  auto g = q.release("a");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "c");
  BOOST_CHECK_EQUAL(g[0].ticket, std::get<Pk>(c).ticket);
  g = q.release("b");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "d");
  BOOST_CHECK_LT(g[0].ticket, UINT64_MAX);
  BOOST_CHECK(q.release("c").empty());
  BOOST_CHECK_EQUAL(q.active(), 1u);
}

BOOST_AUTO_TEST_CASE(withdrawn_sessions_never_get_a_slot) {
  AdmissionQueue q(1);
  q.enqueue("a");
  q.enqueue("b");
  q.enqueue("c");
  BOOST_CHECK(q.release("b").empty());  // b leaves the queue; a still holds the slot
  auto g = q.release("a");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "c");
  BOOST_CHECK(q.release("nobody").empty());
}

BOOST_AUTO_TEST_CASE(grant_numbers_follow_ticket_order) {
  AdmissionQueue q(3);
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back("s" + std::to_string(i));
  uint64_t last_ticket = 0, last_grant = 0;
  std::vector<G> grants;
  for (auto& id : ids)
    if (auto r = q.enqueue(id); std::holds_alternative<G>(r)) grants.push_back(std::get<G>(r));
  for (size_t i = 0; i < grants.size() || q.active() > 0; ++i) {
    if (i >= grants.size()) break;
    auto more = q.release(grants[i].id);
    grants.insert(grants.end(), more.begin(), more.end());
    BOOST_CHECK_LE(q.active(), 3u);
  }
  BOOST_CHECK_EQUAL(grants.size(), 50u);
  for (auto& g : grants) {
    BOOST_CHECK_GT(g.ticket, last_ticket);
    BOOST_CHECK_GT(g.grant, last_grant);
    last_ticket = g.ticket;
    last_grant = g.grant;
  }
}

BOOST_AUTO_TEST_CASE(restore_counts_restored_slots_and_continues_numbering) {
  AdmissionQueue q(2);
  q.restore({{"x", ""}, {"y", ""}}, 10, 20);
  auto r = q.enqueue("z", "", 5);  // a restored ticket keeps its number
  BOOST_REQUIRE(std::holds_alternative<Pk>(r));
  BOOST_CHECK_EQUAL(std::get<Pk>(r).ticket, 5u);
  auto g = q.release("x");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].grant, 20u);
  auto n = q.enqueue("w");
  BOOST_CHECK_EQUAL(std::get<Pk>(n).ticket, 10u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fair_admission)

// Grants the ids released one by one: each release frees one slot. Returns the grant order.
std::vector<std::string> drain(AdmissionQueue& q, std::vector<std::string> holding) {
  std::vector<std::string> order;
  for (size_t i = 0; i < holding.size(); ++i)
    for (auto& g : q.release(holding[i])) {
      order.push_back(g.id);
      holding.push_back(g.id);
    }
  return order;
}

BOOST_AUTO_TEST_CASE(orgs_take_turns_and_each_org_stays_fifo) {
  struct Row {
    std::vector<std::pair<std::string, std::string>> arrivals;  // id, org (in arrival order)
    std::vector<std::string> grants;                            // after the first, one a release
  };
  const std::vector<Row> table = {
      // one org: plain FIFO
      {{{"a1", "A"}, {"a2", "A"}, {"a3", "A"}}, {"a2", "a3"}},
      // a newcomer waits one turn of the org being served, not behind its whole queue
      {{{"a1", "A"}, {"a2", "A"}, {"a3", "A"}, {"a4", "A"}, {"b1", "B"}}, {"a2", "b1", "a3", "a4"}},
      // three orgs round-robin; an org that empties leaves the round
      {{{"a1", "A"},
        {"a2", "A"},
        {"a3", "A"},
        {"a4", "A"},
        {"a5", "A"},
        {"b1", "B"},
        {"b2", "B"},
        {"c1", "C"}},
       {"a2", "b1", "c1", "a3", "b2", "a4", "a5"}},
  };
  for (const auto& row : table) {
    AdmissionQueue q(1);
    for (const auto& [id, org] : row.arrivals) q.enqueue(id, org);
    BOOST_CHECK_EQUAL(q.active(), 1u);
    auto order = drain(q, {row.arrivals.front().first});
    BOOST_CHECK_EQUAL_COLLECTIONS(order.begin(), order.end(), row.grants.begin(), row.grants.end());
    BOOST_CHECK_EQUAL(q.waiting(), 0u);
  }
}

// The "Done when": org A's 500-member fleet at ceiling 2, then one session of org B —
// B is admitted within the next two slot releases; A's members stay in ticket order.
BOOST_AUTO_TEST_CASE(a_500_member_fleet_does_not_starve_another_org) {
  AdmissionQueue q(2);
  std::vector<std::string> holding;
  for (int i = 0; i < 500; ++i) {
    auto r = q.enqueue("a" + std::to_string(i), "A");
    if (auto* g = std::get_if<G>(&r)) holding.push_back(g->id);
  }
  BOOST_REQUIRE_EQUAL(holding.size(), 2u);
  auto b = q.enqueue("b", "B");
  BOOST_REQUIRE(std::holds_alternative<Pk>(b));
  BOOST_CHECK_EQUAL(std::get<Pk>(b).queued, 499u);
  BOOST_CHECK_EQUAL(std::get<Pk>(b).org_queued, 1u);
  int releases = 0;
  bool b_in = false;
  uint64_t last_a_ticket = 0;
  for (size_t i = 0; i < holding.size() && !b_in; ++i) {
    ++releases;
    for (auto& g : q.release(holding[i])) {
      holding.push_back(g.id);
      if (g.id == "b")
        b_in = true;
      else {
        BOOST_CHECK_GT(g.ticket, last_a_ticket);
        last_a_ticket = g.ticket;
      }
    }
  }
  BOOST_CHECK(b_in);
  BOOST_CHECK_LE(releases, 2);
  BOOST_CHECK_EQUAL(q.waiting("A"), 497u);
}

BOOST_AUTO_TEST_CASE(parked_sessions_learn_their_place_in_their_org) {
  AdmissionQueue q(1);
  q.enqueue("a1", "A");
  auto a2 = std::get<Pk>(q.enqueue("a2", "A"));
  auto b1 = std::get<Pk>(q.enqueue("b1", "B"));
  auto a3 = std::get<Pk>(q.enqueue("a3", "A"));
  BOOST_CHECK_EQUAL(a2.queued, 1u);
  BOOST_CHECK_EQUAL(a2.org_queued, 1u);
  BOOST_CHECK_EQUAL(b1.queued, 2u);
  BOOST_CHECK_EQUAL(b1.org_queued, 1u);
  BOOST_CHECK_EQUAL(a3.queued, 3u);
  BOOST_CHECK_EQUAL(a3.org_queued, 2u);
  auto again = q.enqueue("a3", "A");  // asking twice changes nothing
  BOOST_REQUIRE(std::holds_alternative<Pk>(again));
  BOOST_CHECK_EQUAL(std::get<Pk>(again).ticket, a3.ticket);
  BOOST_CHECK_EQUAL(q.waiting(), 3u);
}

BOOST_AUTO_TEST_CASE(weights_give_consecutive_grants_per_turn) {
  struct Row {
    uint32_t weight_a, weight_b;
    std::string grants;  // orgs of the grants after a0, one per release
  };
  const std::vector<Row> table = {
      {1, 1, "ABABABAB"},
      {3, 1, "AAABAAAB"},  // a0 held the slot: A's turn starts fresh once B joined
      {1, 3, "ABBBABBB"},
      {0, 0, "ABABABAB"},  // 0 is read as 1
  };
  for (const auto& row : table) {
    AdmissionQueue q(1);
    q.set_limits("A", {row.weight_a, 0});
    q.set_limits("B", {row.weight_b, 0});
    q.enqueue("a0", "A");
    for (int i = 1; i <= 8; ++i) q.enqueue("a" + std::to_string(i), "A");
    for (int i = 1; i <= 8; ++i) q.enqueue("b" + std::to_string(i), "B");
    auto order = drain(q, {"a0"});
    std::string orgs;
    for (size_t i = 0; i < 8 && i < order.size(); ++i)
      orgs += static_cast<char>(std::toupper(order[i][0]));
    BOOST_CHECK_MESSAGE(orgs == row.grants, "weights " << row.weight_a << "/" << row.weight_b
                                                       << ": got " << orgs << ", want "
                                                       << row.grants);
  }
}

BOOST_AUTO_TEST_CASE(max_live_holds_an_org_out_of_the_round_until_it_releases) {
  AdmissionQueue q(3);
  q.set_limits("A", {1, 1});
  BOOST_CHECK(std::holds_alternative<G>(q.enqueue("a1", "A")));
  BOOST_CHECK(std::holds_alternative<Pk>(q.enqueue("a2", "A")));  // a free slot, but A is at 1
  BOOST_CHECK(std::holds_alternative<Pk>(q.enqueue("a3", "A")));
  BOOST_CHECK_EQUAL(q.active(), 1u);
  BOOST_CHECK(std::holds_alternative<G>(q.enqueue("b1", "B")));  // B is not held by A's limit
  BOOST_CHECK(std::holds_alternative<G>(q.enqueue("b2", "B")));
  BOOST_CHECK(std::holds_alternative<Pk>(q.enqueue("b3", "B")));  // the ceiling
  auto g = q.release("b1");  // a slot frees: A is at its limit, so B's next
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "b3");
  g = q.release("b2");  // nobody eligible: the slot stays free
  BOOST_CHECK(g.empty());
  BOOST_CHECK_EQUAL(q.active(), 2u);
  g = q.release("a1");  // A is back under its limit: its next one, and only one
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "a2");
  BOOST_CHECK_EQUAL(q.live("A"), 1u);
  BOOST_CHECK_EQUAL(q.waiting("A"), 1u);
}

BOOST_AUTO_TEST_CASE(restore_rebuilds_each_orgs_fifo_by_ticket_and_its_live_count) {
  AdmissionQueue q(2);
  q.set_limits("A", {1, 1});
  q.restore({{"x", "A"}, {"y", "B"}}, 100, 50);
  BOOST_CHECK_EQUAL(q.live("A"), 1u);
  // Restored sessions re-enter in any order; each org's FIFO is by ticket.
  q.enqueue("b9", "B", 9);
  q.enqueue("a7", "A", 7);
  q.enqueue("b3", "B", 3);
  q.enqueue("a2", "A", 2);
  auto fresh = std::get<Pk>(q.enqueue("a-new", "A"));
  BOOST_CHECK_EQUAL(fresh.ticket, 100u);
  auto order = drain(q, {"y", "x"});
  // y's release serves B (its turn), x's lets A join at the end of the round, after B's b9;
  // then A is at max_live 1 until each of its grants is released.
  const std::vector<std::string> want = {"b3", "b9", "a2", "a7", "a-new"};
  BOOST_CHECK_EQUAL_COLLECTIONS(order.begin(), order.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(withdrawn_sessions_leave_their_org_and_the_round) {
  AdmissionQueue q(1);
  q.enqueue("a1", "A");
  q.enqueue("b1", "B");
  q.enqueue("c1", "C");
  q.enqueue("c2", "C");
  BOOST_CHECK(q.release("b1").empty());  // B's only waiting session leaves: B leaves the round
  BOOST_CHECK_EQUAL(q.waiting("B"), 0u);
  auto order = drain(q, {"a1"});
  const std::vector<std::string> want = {"c1", "c2"};
  BOOST_CHECK_EQUAL_COLLECTIONS(order.begin(), order.end(), want.begin(), want.end());
  BOOST_CHECK(q.release("nobody").empty());
}

BOOST_AUTO_TEST_CASE(a_withdrawn_session_that_asks_again_goes_to_the_back) {
  AdmissionQueue q(1);
  q.enqueue("a1", "A");
  q.enqueue("a2", "A");
  auto first = std::get<Pk>(q.enqueue("a3", "A"));
  q.enqueue("a4", "A");
  BOOST_CHECK(q.release("a3").empty());
  BOOST_CHECK_EQUAL(q.waiting("A"), 2u);
  auto again = std::get<Pk>(q.enqueue("a3", "A"));
  BOOST_CHECK_GT(again.ticket, first.ticket);
  BOOST_CHECK_EQUAL(again.org_queued, 3u);
  auto order = drain(q, {"a1"});
  const std::vector<std::string> want = {"a2", "a4", "a3"};
  BOOST_CHECK_EQUAL_COLLECTIONS(order.begin(), order.end(), want.begin(), want.end());
  BOOST_CHECK_EQUAL(q.waiting(), 0u);
  BOOST_CHECK_EQUAL(q.active(), 0u);  // drain gave every slot back
}

// A fleet's members are granted in the fleet's creating commit only where enqueue() would grant
// them at once; past that, nothing changes (no ticket taken, nobody parked).
BOOST_AUTO_TEST_CASE(grant_now_grants_only_what_enqueue_would_grant_at_once) {
  AdmissionQueue q(3);
  q.set_limits("capped", OrgLimits{1, 1});
  auto a = q.grant_now("a", "org");
  BOOST_REQUIRE(a);
  BOOST_CHECK_EQUAL(a->active, 1u);
  BOOST_CHECK(!q.grant_now("a", "org"));  // known already: its own answer stands
  BOOST_REQUIRE(q.grant_now("c1", "capped"));
  BOOST_CHECK(!q.grant_now("c2", "capped"));  // max_live 1
  auto b = q.grant_now("b", "org");
  BOOST_REQUIRE(b);
  BOOST_CHECK_EQUAL(b->active, 3u);
  BOOST_CHECK_GT(b->ticket, a->ticket);
  BOOST_CHECK(!q.grant_now("x", "org"));  // the ceiling
  BOOST_CHECK_EQUAL(q.active(), 3u);
  BOOST_CHECK_EQUAL(q.waiting(), 0u);
  // Someone waits its turn: a free slot goes to it, never to grant_now.
  BOOST_CHECK(std::holds_alternative<Pk>(q.enqueue("w", "other")));
  auto g = q.release("a");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].id, "w");
  BOOST_CHECK(std::holds_alternative<Pk>(q.enqueue("w2", "other")));
  BOOST_REQUIRE_EQUAL(q.release("b").size(), 1u);
  BOOST_CHECK(!q.grant_now("y", "org"));  // full again
  // Released slots are granted as usual.
  q.release("w");
  auto y = q.grant_now("y", "org");
  BOOST_REQUIRE(y);
  BOOST_CHECK_EQUAL(q.live("org"), 1u);
}

BOOST_AUTO_TEST_SUITE_END()
