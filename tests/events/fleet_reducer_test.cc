// Table tests of the fleet fold: member phases → counts → aggregate phase.
#include <boost/test/unit_test.hpp>

#include "events/fleet.h"

using namespace enclave;
using P = session::Phase;
using F = fleet::Phase;

namespace {

fleet::State with_members(const std::vector<P>& phases) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < phases.size(); ++i) ids.push_back(std::string(15, 'm') + char('a' + i));
  auto evs = fleet::decide({}, fleet::Create{std::string(16, 'f'), "acme", "k", "f", ids}, 1);
  auto s = fleet::apply({}, evs->front());
  for (size_t i = 0; i < phases.size(); ++i) s = fleet::observe(s, i, phases[i]);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fleet_reducer)

BOOST_AUTO_TEST_CASE(aggregate_phase_table) {
  struct Row {
    std::vector<P> members;
    F want;
  };
  const Row rows[] = {
      {{P::kQueued, P::kQueued}, F::kPending},
      {{P::kStarting, P::kQueued}, F::kRunning},
      {{P::kRunning, P::kSucceeded}, F::kRunning},
      {{P::kSucceeded, P::kQueued}, F::kRunning},
      {{P::kSucceeded, P::kSucceeded}, F::kCompleted},
      {{P::kSucceeded, P::kKilled}, F::kPartial},
      {{P::kSucceeded, P::kFailed}, F::kPartial},
      {{P::kFailed, P::kKilled}, F::kFailed},
      {{P::kKilled}, F::kFailed},
  };
  for (const auto& r : rows) {
    auto s = with_members(r.members);
    BOOST_CHECK_EQUAL(fleet::phase_name(fleet::aggregate(fleet::counts(s))),
                      fleet::phase_name(r.want));
  }
}

BOOST_AUTO_TEST_CASE(counts_add_up) {
  auto c = fleet::counts(with_members({P::kQueued, P::kStarting, P::kRunning, P::kSucceeded,
                                       P::kFailed, P::kKilled, P::kSucceeded}));
  BOOST_CHECK_EQUAL(c.queued, 1u);
  BOOST_CHECK_EQUAL(c.starting, 1u);
  BOOST_CHECK_EQUAL(c.running, 1u);
  BOOST_CHECK_EQUAL(c.succeeded, 2u);
  BOOST_CHECK_EQUAL(c.failed, 1u);
  BOOST_CHECK_EQUAL(c.killed, 1u);
  BOOST_CHECK_EQUAL(c.total(), 7u);
}

BOOST_AUTO_TEST_CASE(create_and_teardown_rules) {
  BOOST_CHECK(!fleet::decide({}, fleet::Create{std::string(16, 'f'), "o", "k", "n", {}}, 1).ok());
  auto s = with_members({P::kQueued});
  BOOST_CHECK(!fleet::decide(s, fleet::Create{s.id, "o", "k", "n", s.member_ids}, 2).ok());
  auto td = fleet::decide(s, fleet::TearDown{}, 3);
  BOOST_REQUIRE_EQUAL(td.size(), 1u);
  BOOST_CHECK_EQUAL(td.front().seq(), 2u);
  s = fleet::apply(s, td.front());
  BOOST_CHECK(s.torn_down);
  BOOST_CHECK(fleet::decide(s, fleet::TearDown{}, 4).empty());  // second teardown: no-op
}

BOOST_AUTO_TEST_SUITE_END()
