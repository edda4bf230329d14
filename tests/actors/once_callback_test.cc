// answered_once: a callback lost with its message is still answered, exactly once.
#include "actors/once_callback.h"

#include <boost/test/unit_test.hpp>

using namespace enclave;

BOOST_AUTO_TEST_SUITE(once_callback)

BOOST_AUTO_TEST_CASE(answered_by_the_fallback_when_dropped_uncalled) {
  int calls = 0;
  std::string got;
  {
    auto cb = answered_once<std::string>(
        [&](Result<std::string> r) {
          ++calls;
          got = *r;
        },
        [] { return Result<std::string>(std::string("fallback")); });
    auto copy = cb;  // copies share one guard
  }                  // every copy destroyed, never called: like a message dropped by a dead actor
  BOOST_CHECK_EQUAL(calls, 1);
  BOOST_CHECK_EQUAL(got, "fallback");
}

BOOST_AUTO_TEST_CASE(never_twice) {
  int calls = 0;
  {
    auto cb = answered_once<int>([&](Result<int>) { ++calls; }, [] { return Result<int>(0); });
    cb(1);
    cb(2);
  }
  BOOST_CHECK_EQUAL(calls, 1);
}

BOOST_AUTO_TEST_SUITE_END()
