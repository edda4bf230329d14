// The admission queue: ceiling, FIFO, withdrawal, restore.
#define BOOST_TEST_MODULE admission
#include <boost/test/unit_test.hpp>

#include "actors/admission.h"

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
  q.restore({"x", "y"}, 10, 20);
  auto r = q.enqueue("z", 5);  // a restored ticket keeps its number
  BOOST_REQUIRE(std::holds_alternative<Pk>(r));
  BOOST_CHECK_EQUAL(std::get<Pk>(r).ticket, 5u);
  auto g = q.release("x");
  BOOST_REQUIRE_EQUAL(g.size(), 1u);
  BOOST_CHECK_EQUAL(g[0].grant, 20u);
  auto n = q.enqueue("w");
  BOOST_CHECK_EQUAL(std::get<Pk>(n).ticket, 10u);
}

BOOST_AUTO_TEST_SUITE_END()
