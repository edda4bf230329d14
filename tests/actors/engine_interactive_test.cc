// Interactive sessions on the simulator with an injected clock: turns, serialisation, the
// idle-TTL reaper, the lifetime bound, the cumulative meter, refused turns after the end.
#include <boost/test/unit_test.hpp>

#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_interactive)

namespace {

struct Fixture {
  TempDir dir;
  ManualClock clock;
  std::unique_ptr<Engine> engine;
  Principal p = default_principal();
  std::string id;

  explicit Fixture(uint64_t max_cumulative_ms = 60'000) {
    EngineConfig cfg;
    cfg.clock = clock.clock();
    cfg.reaper_tick_ms = 0;
    cfg.policy.idle_ttl_ms = 3000;
    cfg.policy.max_lifetime_ms = 10'000;
    cfg.policy.max_cumulative_ms = max_cumulative_ms;
    engine = open_engine(dir.path(), 4, cfg);
    api::CreateSessionRequest r;
    r.set_exec_mode("interactive");
    auto s = call<api::Session>([&](auto cb) { engine->create_session(p, r, cb); });
    BOOST_REQUIRE(s.ok());
    id = s->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, id)->phase() == "running"; }));
  }
  Result<api::ExecTurnResult> exec(const std::string& code) {
    api::ExecRequest r;
    r.set_code(code);
    return call<api::ExecTurnResult>([&](auto cb) { engine->exec(p, id, r, cb); });
  }
  api::Session view() { return *engine->get_session(p, id); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(turns_run_in_order_and_count) {
  Fixture f;
  auto t1 = f.exec("x = 41\n#@sim stdout=\"one\"");
  BOOST_REQUIRE(t1.ok());
  BOOST_CHECK_EQUAL(t1->turn(), 1u);
  BOOST_CHECK_EQUAL(t1->stdout(), "one\n");
  BOOST_CHECK_EQUAL(t1->exit_code().number_value(), 0);
  auto t2 = f.exec("enclave.result({'answer': 42})");
  BOOST_CHECK_EQUAL(t2->turn(), 2u);
  BOOST_CHECK_EQUAL(t2->json().struct_value().fields().at("answer").number_value(), 42);
  auto t3 = f.exec("raise ValueError('boom')");
  BOOST_CHECK_EQUAL(t3->exit_code().number_value(), 1);
  BOOST_CHECK(t3->stderr().find("Traceback") != std::string::npos);
  BOOST_CHECK_EQUAL(f.view().turns(), 3u);
  BOOST_CHECK_EQUAL(f.view().phase(), "running");  // an exception does not end the session
}

BOOST_AUTO_TEST_CASE(concurrent_turns_are_serialised) {
  Fixture f;
  std::vector<std::future<Result<api::ExecTurnResult>>> futures;
  for (int i = 0; i < 5; ++i)
    futures.push_back(std::async(std::launch::async, [&f] { return f.exec("#@sim sleep_ms=2"); }));
  std::set<uint32_t> turns;
  for (auto& fu : futures) {
    auto r = fu.get();
    BOOST_REQUIRE(r.ok());
    turns.insert(r->turn());
  }
  BOOST_CHECK(turns == (std::set<uint32_t>{1, 2, 3, 4, 5}));
}

BOOST_AUTO_TEST_CASE(idle_session_is_reaped_and_refuses_turns) {
  Fixture f;
  BOOST_REQUIRE(f.exec("x = 1").ok());
  f.clock.advance(2999);
  f.engine->reap_now();
  BOOST_REQUIRE(f.exec("x").ok());  // still alive; this turn resets the idle clock
  f.clock.advance(3000);
  f.engine->reap_now();
  BOOST_REQUIRE(wait_until([&] { return f.view().torn_down(); }));
  BOOST_CHECK_EQUAL(f.view().phase(), "killed");
  BOOST_CHECK_EQUAL(f.view().kill_reason(), "idle_timeout");
  auto refused = f.exec("x");
  BOOST_REQUIRE(!refused.ok());
  BOOST_CHECK_EQUAL(refused.error().reason, "session_not_running");
  auto again = call<api::Session>([&](auto cb) { f.engine->teardown_session(f.p, f.id, cb); });
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK_EQUAL(again->kill_reason(), "idle_timeout");  // idempotent: unchanged
  std::vector<std::string> types;
  auto audit = f.engine->get_audit(f.p, f.id);
  for (const auto& e : audit->events()) types.push_back(e.type());
  std::vector<std::string> want = {"session_created", "session_admitted", "sandbox_started",
                                   "exec_turn",       "exec_turn",        "quota_killed",
                                   "workload_exited", "usage_metered",    "session_torn_down"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(lifetime_ends_a_busy_session) {
  Fixture f;
  for (int i = 0; i < 3; ++i) {  // a turn every 2.5 s: never idle for the 3 s TTL
    f.clock.advance(2500);
    BOOST_REQUIRE(f.exec("pass").ok());
  }
  f.clock.advance(2500);  // 10 s after the start: the lifetime bound, not the idle one
  f.engine->reap_now();
  BOOST_REQUIRE(wait_until([&] { return f.view().torn_down(); }));
  BOOST_CHECK_EQUAL(f.view().kill_reason(), "lifetime_exceeded");
}

// The simulator's turns take real time, so a loaded machine only makes them longer: the first
// turn stays far below the budget (1 ms of 1000) and the second alone crosses it.
BOOST_AUTO_TEST_CASE(cumulative_meter_ends_the_session) {
  Fixture f(1000);
  BOOST_REQUIRE(f.exec("#@sim sleep_ms=1").ok());
  BOOST_CHECK(f.view().phase() == "running");
  auto t = f.exec("#@sim sleep_ms=1100");
  BOOST_REQUIRE(t.ok());  // the turn that crosses the budget still answers
  BOOST_REQUIRE(wait_until([&] { return f.view().torn_down(); }));
  BOOST_CHECK_EQUAL(f.view().kill_reason(), "turn_budget_exceeded");
}

// Issue 16: CPU the sandbox burns after its turn's reply (a forged "done" frame, a thread) is
// charged to the budget from the backend's CpuUsage, and the kill is audited with both figures.
BOOST_AUTO_TEST_CASE(cpu_burnt_after_the_reply_ends_the_session) {
  Fixture f(1000);
  auto t = f.exec("#@sim sleep_ms=1\n#@sim cpu_ms=400");
  BOOST_REQUIRE(t.ok());
  BOOST_CHECK(f.view().phase() == "running");  // 400 ms of CPU: within the budget
  t = f.exec("#@sim sleep_ms=1\n#@sim cpu_ms=1500");
  BOOST_REQUIRE(t.ok());  // the reply came at once; the CPU after it trips the budget
  BOOST_REQUIRE(wait_until([&] { return f.view().torn_down(); }));
  BOOST_CHECK_EQUAL(f.view().kill_reason(), "turn_budget_exceeded");
  auto audit = f.engine->get_audit(f.p, f.id);
  BOOST_REQUIRE(audit.ok());
  bool metered = false, killed = false;
  for (const auto& e : audit->events()) {
    if (e.type() == "cpu_metered") metered = true;
    if (e.type() != "quota_killed") continue;
    killed = true;
    const auto& d = e.data().fields();
    BOOST_CHECK_EQUAL(d.at("cpuMs").number_value(), 1500);
    BOOST_CHECK_LT(d.at("turnMsTotal").number_value(), 1000);
  }
  BOOST_CHECK(metered);
  BOOST_CHECK(killed);
}

BOOST_AUTO_TEST_CASE(turn_timeout_interrupts_and_the_session_lives) {
  Fixture f;
  api::ExecRequest r;
  r.set_code("#@sim hang");
  r.set_timeout_ms(20);
  auto t = call<api::ExecTurnResult>([&](auto cb) { f.engine->exec(f.p, f.id, r, cb); });
  BOOST_REQUIRE(t.ok());
  BOOST_CHECK(t->exit_code().has_null_value());
  BOOST_CHECK_EQUAL(t->stderr(), "KeyboardInterrupt\n");
  api::ExecRequest next;
  next.set_code("print('after')");
  auto t2 = call<api::ExecTurnResult>([&](auto cb) { f.engine->exec(f.p, f.id, next, cb); });
  BOOST_REQUIRE(t2.ok());
  BOOST_CHECK_EQUAL(t2->turn(), 2u);
  BOOST_CHECK_EQUAL(t2->stdout(), "after\n");
  BOOST_CHECK_EQUAL(f.view().phase(), "running");
}

BOOST_AUTO_TEST_CASE(turn_timeout_kills_the_session) {
  Fixture f;
  api::ExecRequest r;
  r.set_code("#@sim hang\n#@sim ignore_interrupt");
  r.set_timeout_ms(20);
  auto t = call<api::ExecTurnResult>([&](auto cb) { f.engine->exec(f.p, f.id, r, cb); });
  BOOST_REQUIRE(t.ok());
  BOOST_CHECK(t->exit_code().has_null_value());
  BOOST_REQUIRE(wait_until([&] { return f.view().torn_down(); }));
  BOOST_CHECK_EQUAL(f.view().kill_reason(), "wall_clock_exceeded");
}

BOOST_AUTO_TEST_CASE(exec_on_a_batch_session_is_refused) {
  Fixture f;
  auto s =
      call<api::Session>([&](auto cb) { f.engine->create_session(f.p, batch("#@sim hang"), cb); });
  api::ExecRequest r;
  r.set_code("1");
  auto t = call<api::ExecTurnResult>([&](auto cb) { f.engine->exec(f.p, s->id(), r, cb); });
  BOOST_REQUIRE(!t.ok());
  BOOST_CHECK(t.error().code == ErrorCode::kConflict);
}

BOOST_AUTO_TEST_SUITE_END()
