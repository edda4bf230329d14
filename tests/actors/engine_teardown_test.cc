// A teardown the backend could not complete (simulator: `#@sim teardown_left=N`) is a recorded
// fact, keeps the session's admission slot and `tornDown` false, and is retried until the backend
// reports everything removed. The container id the backend reports is in the audit.
#include <boost/test/unit_test.hpp>

#include "events/ids.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_teardown)

BOOST_AUTO_TEST_CASE(incomplete_teardown_holds_the_slot_until_a_retry_succeeds) {
  TempDir dir;
  std::string leaky_id, next_id;
  {
    auto engine = open_engine(dir.path(), 1, {}, {.tick_ms = 5});
    const Principal p = default_principal();
    auto leaky = call<api::Session>([&](auto cb) {
      engine->create_session(p, batch("print(1)\n#@sim teardown_left=2\n"), cb);
    });
    auto next =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("print(2)"), cb); });
    BOOST_REQUIRE(leaky.ok() && next.ok());
    leaky_id = leaky->id();
    next_id = next->id();
    // The first removal left something: a fact, visible in the view, not torn down.
    BOOST_REQUIRE(
        wait_until([&] { return engine->get_session(p, leaky_id)->has_teardown_incomplete(); }));
    auto v = engine->get_session(p, leaky_id);
    BOOST_CHECK(!v->torn_down());
    BOOST_CHECK_EQUAL(v->phase(), "succeeded");
    BOOST_CHECK_EQUAL(v->teardown_incomplete(), "cgroups left: simulated /enclave/" + leaky_id);
    // Two more attempts (the first fails again, the second succeeds), then the next session runs.
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, next_id)->torn_down(); },
                             std::chrono::seconds(60)));
    v = engine->get_session(p, leaky_id);
    BOOST_CHECK(v->torn_down());
    BOOST_CHECK(!v->has_teardown_incomplete());
    auto audit = engine->get_audit(p, leaky_id);
    std::vector<std::string> types;
    std::string container_id;
    for (const auto& e : audit->events()) {
      types.push_back(e.type());
      if (e.type() == "sandbox_started")
        container_id = e.data().fields().at("containerId").string_value();
    }
    BOOST_CHECK_EQUAL(container_id, leaky_id);  // the simulator names its sandbox by session id
    // The same leftover twice is recorded once; torn down only after it.
    std::vector<std::string> want = {"session_created",  "session_admitted", "sandbox_started",
                                     "workload_exited",  "usage_metered",    "teardown_incomplete",
                                     "session_torn_down"};
    BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  }
  // From the log: the next session was admitted only after the leaky one was really torn down.
  int64_t torn_at = -1, admitted_at = -1, i = 0;
  for (const auto& s : all_events(dir.path())) {
    ++i;
    const std::string hex = to_hex(s.envelope.stream());
    if (hex == leaky_id && s.envelope.has_session_torn_down()) torn_at = i;
    if (hex == next_id && s.envelope.has_session_admitted()) admitted_at = i;
  }
  BOOST_CHECK_GT(torn_at, 0);
  BOOST_CHECK_GT(admitted_at, torn_at);
}

BOOST_AUTO_TEST_SUITE_END()
