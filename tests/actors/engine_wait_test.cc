// `?wait=S` at the engine (issue 24), on the simulator: a wait answers with the session and its
// result once it has ended, or as it stands when its time is up (injected clock: no sleeps);
// another org's session is not found; a cancelled wait never answers.
#include <boost/test/unit_test.hpp>

#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_wait)

namespace {

Principal owner_of(const std::string& org) {
  return Principal{"key:test-" + org, org, "owner", scopes_for_role("owner")};
}

}  // namespace

BOOST_AUTO_TEST_CASE(wait_answers_with_the_result_once_the_session_has_ended) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 2);
  const Principal p = default_principal();
  auto s = call<api::Session>([&](auto cb) {
    engine->create_session(p, batch("#@sim sleep_ms=30\nprint(7)\nenclave.result({\"v\": 5})\n"),
                           cb);
  });
  BOOST_REQUIRE(s.ok());
  auto w = call<api::Session>([&](auto cb) { engine->wait_session(p, s->id(), 30, cb); });
  BOOST_REQUIRE(w.ok());
  BOOST_CHECK_EQUAL(w->phase(), "succeeded");
  BOOST_CHECK_EQUAL(w->exit_code(), 0);
  BOOST_REQUIRE(w->has_result());
  BOOST_CHECK_EQUAL(w->result().stdout(), "7\n");
  BOOST_CHECK_EQUAL(w->result().json().struct_value().fields().at("v").number_value(), 5);
  // Waiting on a session that has ended already answers at once, the same way.
  auto again = call<api::Session>([&](auto cb) { engine->wait_session(p, s->id(), 30, cb); });
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK_EQUAL(again->result().stdout(), "7\n");
}

BOOST_AUTO_TEST_CASE(wait_times_out_with_the_session_as_it_stands) {
  TempDir dir;
  ManualClock clock;
  EngineConfig cfg;
  cfg.clock = clock.clock();
  cfg.reaper_tick_ms = 0;
  auto engine = open_engine(dir.path(), 2, cfg);
  const Principal p = default_principal();
  auto s = call<api::Session>(
      [&](auto cb) { engine->create_session(p, batch("#@sim hang\nprint(1)\n"), cb); });
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, s->id())->phase() == "running"; }));
  auto done = std::make_shared<std::promise<Result<api::Session>>>();
  auto answered = done->get_future();
  engine->wait_session(p, s->id(), 5, [done](Result<api::Session> r) { done->set_value(r); });
  clock.advance(4999);
  engine->reap_now();
  clock.advance(1);
  engine->reap_now();
  BOOST_REQUIRE(answered.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  auto w = answered.get();
  BOOST_REQUIRE(w.ok());
  // Not ended: the answer is the session as it stands after 5 s, result not final.
  BOOST_CHECK_EQUAL(w->phase(), "running");
  BOOST_REQUIRE(w->has_result());
  BOOST_CHECK(!w->result().final());
  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(p, s->id(), cb); }).ok());
}

BOOST_AUTO_TEST_CASE(another_orgs_session_is_not_found) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 2);
  const auto a = owner_of("orga"), b = owner_of("orgb");
  auto s = call<api::Session>([&](auto cb) { engine->create_session(a, batch("print(1)\n"), cb); });
  BOOST_REQUIRE(s.ok());
  uint64_t token = 1;
  auto w = call<api::Session>([&](auto cb) { token = engine->wait_session(b, s->id(), 30, cb); });
  BOOST_REQUIRE(!w.ok());
  BOOST_CHECK(w.error().code == ErrorCode::kNotFound);
  BOOST_CHECK_EQUAL(token, 0u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_wait_never_answers) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 2);
  const Principal p = default_principal();
  auto s = call<api::Session>(
      [&](auto cb) { engine->create_session(p, batch("#@sim hang\nprint(1)\n"), cb); });
  BOOST_REQUIRE(s.ok());
  auto cancelled_answered = std::make_shared<std::atomic<bool>>(false);
  uint64_t token = engine->wait_session(
      p, s->id(), 30, [cancelled_answered](Result<api::Session>) { *cancelled_answered = true; });
  BOOST_REQUIRE_NE(token, 0u);
  engine->cancel_wait(token);
  // A second wait, registered with the first, completes from the same commit that would have
  // completed the first: once it has answered, the first would have too.
  auto later = std::make_shared<std::promise<Result<api::Session>>>();
  auto f = later->get_future();
  engine->wait_session(p, s->id(), 30, [later](Result<api::Session> r) { later->set_value(r); });
  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(p, s->id(), cb); }).ok());
  BOOST_REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  BOOST_CHECK_EQUAL(f.get()->phase(), "killed");
  BOOST_CHECK(!*cancelled_answered);
}

BOOST_AUTO_TEST_SUITE_END()
