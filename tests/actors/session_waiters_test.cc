// SessionWaiters (`?wait=S`, issue 24): each waiter completes exactly once — settled, expired —
// or never when cancelled; the registry is bounded. Times are plain numbers (no clock).
#include "actors/session_waiters.h"

#include <boost/test/unit_test.hpp>
#include <vector>

using namespace enclave;

BOOST_AUTO_TEST_SUITE(session_waiters)

BOOST_AUTO_TEST_CASE(settle_completes_only_that_sessions_waiters_once) {
  SessionWaiters w;
  std::vector<std::string> fired;
  auto on = [&](std::string name) {
    return [&fired, name](bool timed_out) { fired.push_back(name + (timed_out ? ":t" : ":s")); };
  };
  BOOST_REQUIRE(w.add("a", 100, on("a1")));
  BOOST_REQUIRE(w.add("a", 200, on("a2")));
  BOOST_REQUIRE(w.add("b", 100, on("b1")));
  BOOST_CHECK(w.waiting_for("a"));
  w.settle("a");
  BOOST_CHECK_EQUAL(fired.size(), 2u);
  BOOST_CHECK(!w.waiting_for("a"));
  BOOST_CHECK(w.waiting_for("b"));
  w.settle("a");  // nobody left: nothing fires twice
  BOOST_CHECK_EQUAL(fired.size(), 2u);
  BOOST_CHECK_EQUAL(w.size(), 1u);
}

BOOST_AUTO_TEST_CASE(expire_completes_due_waiters_as_timed_out) {
  SessionWaiters w;
  std::vector<std::string> fired;
  BOOST_REQUIRE(w.add("a", 100, [&](bool t) { fired.push_back(t ? "a:t" : "a:s"); }));
  BOOST_REQUIRE(w.add("b", 300, [&](bool t) { fired.push_back(t ? "b:t" : "b:s"); }));
  w.expire(99);
  BOOST_CHECK(fired.empty());
  w.expire(100);
  BOOST_REQUIRE_EQUAL(fired.size(), 1u);
  BOOST_CHECK_EQUAL(fired[0], "a:t");
  w.settle("a");  // it already completed
  BOOST_CHECK_EQUAL(fired.size(), 1u);
  w.settle("b");
  w.expire(1000);  // b completed as settled; its deadline does not fire it again
  BOOST_REQUIRE_EQUAL(fired.size(), 2u);
  BOOST_CHECK_EQUAL(fired[1], "b:s");
  BOOST_CHECK_EQUAL(w.size(), 0u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_waiter_never_fires) {
  SessionWaiters w;
  int fired = 0;
  auto t = w.add("a", 100, [&](bool) { ++fired; });
  BOOST_REQUIRE(t);
  BOOST_CHECK(w.cancel(*t));
  BOOST_CHECK(!w.cancel(*t));
  w.settle("a");
  w.expire(1000);
  w.settle_one(*t);
  BOOST_CHECK_EQUAL(fired, 0);
  auto t2 = w.add("a", 100, [&](bool) { ++fired; });
  w.settle_one(*t2);
  BOOST_CHECK_EQUAL(fired, 1);
  BOOST_CHECK(!w.cancel(*t2));  // completed already
}

BOOST_AUTO_TEST_CASE(the_registry_is_bounded) {
  SessionWaiters w(2);
  BOOST_CHECK(w.add("a", 1, [](bool) {}));
  BOOST_CHECK(w.add("b", 1, [](bool) {}));
  BOOST_CHECK(!w.add("c", 1, [](bool) {}));
  w.expire(1);
  BOOST_CHECK(w.add("c", 1, [](bool) {}));
}

BOOST_AUTO_TEST_SUITE_END()
