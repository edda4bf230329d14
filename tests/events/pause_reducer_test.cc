// Table tests of the session reducer's pause/resume/fork part: the phase `paused`, its
// transitions, the admission slot released on pause and taken again on resume, the clocks.
#include <boost/test/unit_test.hpp>

#include "events/session.h"

using namespace enclave;
using session::Phase;

namespace {

session::Policy policy() {
  session::Policy p;
  p.idle_ttl_ms = 1000;
  p.max_lifetime_ms = 10'000;
  p.max_cumulative_ms = 100'000;
  p.paused_max_ms = 50'000;
  return p;
}

events::SessionSpec spec(bool interactive, const std::string& on_idle = "") {
  events::SessionSpec s;
  s.set_language("python");
  s.set_exec_mode(interactive ? events::EXEC_MODE_INTERACTIVE : events::EXEC_MODE_BATCH);
  s.mutable_limits()->set_wall_clock_seconds(5);
  s.set_on_idle(on_idle);
  return s;
}

session::State run(session::State s, const session::Command& c, TimeMs now,
                   std::vector<std::string>* types = nullptr) {
  auto r = session::decide(s, c, now, policy());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  for (const auto& e : r.value()) {
    if (types) types->push_back(session::event_type(e));
    s = session::apply(s, e);
  }
  return s;
}

session::State running(bool interactive = true, const std::string& on_idle = "") {
  auto s = run(
      {}, session::Create{std::string(16, 'a'), "acme", "key:1", spec(interactive, on_idle)}, 1000);
  s = run(s, session::Admit{1, 3, 1, 1}, 1001);
  return run(s, session::SandboxUp{"simulator", false, "c1"}, 1002);
}

session::Paused paused_cmd(const std::string& reason = "api") {
  return session::Paused{"snap1", std::string(64, 'f'), 1234, 80, reason};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pause_reducer)

BOOST_AUTO_TEST_CASE(pause_then_resume_through_admission) {
  std::vector<std::string> types;
  auto s = running();
  s = run(s, paused_cmd(), 2000, &types);
  BOOST_CHECK(s.phase == Phase::kPaused);
  BOOST_CHECK(!s.admitted);  // the slot is given back
  BOOST_CHECK(s.restore_on_admit);
  BOOST_CHECK_EQUAL(s.snapshot_id, "snap1");
  BOOST_CHECK_EQUAL(s.container_id, "");
  BOOST_CHECK(!s.ended());
  // Waiting for a slot again: recorded as queued, still paused.
  s = run(s, session::RecordQueued{1, 1, 9}, 2500, &types);
  BOOST_CHECK(s.phase == Phase::kPaused);
  s = run(s, session::Admit{1, 1, 9, 2}, 3000, &types);
  BOOST_CHECK(s.phase == Phase::kStarting);
  BOOST_CHECK(s.admitted);
  auto up = session::SandboxUp{"simulator", false, "c2"};
  up.resume_reason = "exec";
  s = run(s, up, 3100, &types);
  BOOST_CHECK(s.phase == Phase::kRunning);
  BOOST_CHECK_EQUAL(s.container_id, "c2");
  BOOST_CHECK_EQUAL(s.paused_ms_total, 1100);  // 2000 → 3100: the lifetime clock stood still
  BOOST_CHECK_EQUAL(s.paused_at_ms, 0);
  BOOST_CHECK(!s.restore_on_admit);
  BOOST_CHECK_EQUAL(s.last_activity_ms, 3100);
  std::vector<std::string> want = {"session_paused", "session_queued", "session_admitted",
                                   "session_resumed"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(checks_of_pause_resume_fork_and_exec_by_phase) {
  struct Row {
    const char* name;
    session::State s;
    bool pause_ok, pause_needed, resume_ok, resume_needed, fork_ok, exec_ok;
  };
  auto run_i = running(true);
  auto paused = run(run_i, paused_cmd(), 2000);
  auto batch = running(false);
  auto killed = run(run_i, session::Kill{events::KILL_REASON_TORN_DOWN, "x"}, 2000);
  const Row rows[] = {
      {"running interactive", run_i, true, true, true, false, true, true},
      {"paused", paused, true, false, true, true, true, true},
      {"running batch", batch, false, false, false, false, false, false},
      {"killed", killed, false, false, false, false, false, false},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      auto p = session::check_pause(r.s);
      BOOST_CHECK_EQUAL(p.ok(), r.pause_ok);
      if (p.ok()) BOOST_CHECK_EQUAL(*p, r.pause_needed);
      auto re = session::check_resume(r.s);
      BOOST_CHECK_EQUAL(re.ok(), r.resume_ok);
      if (re.ok()) BOOST_CHECK_EQUAL(*re, r.resume_needed);
      BOOST_CHECK_EQUAL(session::check_fork(r.s).ok(), r.fork_ok);
      BOOST_CHECK_EQUAL(session::check_exec_or_resume(r.s).ok(), r.exec_ok);
    }
  }
  BOOST_CHECK(!session::check_exec(paused).ok());  // a turn never runs on a paused kernel
}

BOOST_AUTO_TEST_CASE(deadlines_while_paused) {
  auto s = running();
  s = run(s, paused_cmd(), 2000);
  // Neither idle nor lifetime applies while paused; only the paused bound.
  BOOST_CHECK(!session::due_kill(s, 2000 + 49'999, policy()).has_value());
  BOOST_CHECK_EQUAL(*session::next_deadline(s, policy()), 52'000);
  auto due = session::due_kill(s, 52'000, policy());
  BOOST_REQUIRE(due.has_value());
  BOOST_CHECK_EQUAL(*due, events::KILL_REASON_PAUSED_EXPIRED);
  std::vector<std::string> types;
  auto ended = run(s, session::Reap{}, 52'000, &types);
  BOOST_CHECK(ended.torn_down);  // no sandbox to wait for
  BOOST_CHECK(ended.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(std::string(session::kill_reason_name(ended.kill_reason)), "paused_expired");
  std::vector<std::string> want = {"quota_killed", "session_torn_down"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  // After a resume the lifetime bound moves by the time spent paused.
  auto r = run(run(s, session::Admit{1, 1, 2, 2}, 5000), session::SandboxUp{"sim", false}, 5000);
  BOOST_CHECK_EQUAL(*session::next_deadline(r, policy()), 6000);  // idle: 5000 + 1000
  BOOST_CHECK_EQUAL(r.paused_ms_total, 3000);  // the lifetime bound moved from 11002 to 14002
}

BOOST_AUTO_TEST_CASE(idle_policy_table) {
  struct Row {
    const char* on_idle;
    bool server_pause, interactive, pauses;
  };
  const Row rows[] = {
      {"", false, true, false},    {"", true, true, true},   {"pause", false, true, true},
      {"kill", true, true, false}, {"", true, false, false},
  };
  for (const auto& r : rows) {
    auto s = running(r.interactive, r.on_idle);
    auto p = policy();
    p.pause_on_idle = r.server_pause;
    BOOST_CHECK_EQUAL(session::pauses_on_idle(s, p), r.pauses);
  }
}

BOOST_AUTO_TEST_CASE(cpu_meter_goes_on_from_where_the_pause_left_it) {
  auto s = running();
  s = run(s, session::MeterCpu{5000}, 1500);
  BOOST_CHECK_EQUAL(s.cpu_ms, 5000u);
  s = run(s, paused_cmd(), 2000);
  s = run(run(s, session::Admit{1, 1, 2, 2}, 3000), session::SandboxUp{"sim", false}, 3000);
  BOOST_CHECK_EQUAL(s.cpu_offset_ms, 5000u);
  s = run(s, session::MeterCpu{1500}, 4000);  // the restored sandbox measures from 0
  BOOST_CHECK_EQUAL(s.cpu_ms, 6500u);
}

BOOST_AUTO_TEST_CASE(fork_lineage_and_snapshot) {
  std::vector<std::string> types;
  auto src = running();
  src = run(src, session::TakeSnapshot{"snap2", std::string(64, 'e'), 99, 70, 3}, 2000, &types);
  BOOST_CHECK(src.phase == Phase::kRunning);  // the source runs on
  BOOST_CHECK_EQUAL(src.snapshot_id, "snap2");
  BOOST_CHECK(!src.restore_on_admit);
  auto kid = run({}, session::Create{std::string(16, 'b'), "acme", "key:1", spec(true)}, 2001);
  kid = run(kid, session::ForkFrom{src.id, "snap2", std::string(64, 'e'), 99}, 2001, &types);
  BOOST_CHECK_EQUAL(kid.forked_from, src.id);
  BOOST_CHECK(kid.restore_on_admit);
  kid = run(run(kid, session::Admit{1, 3, 2, 2}, 2002), session::SandboxUp{"sim", false}, 2003,
            &types);
  BOOST_CHECK(kid.phase == Phase::kRunning);
  std::vector<std::string> want = {"snapshot_taken", "session_forked", "sandbox_started"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  // A session that already started cannot become a fork.
  auto r = session::decide(kid, session::ForkFrom{src.id, "snap2", "", 1}, 2004, policy());
  BOOST_CHECK(!r.ok());
}

BOOST_AUTO_TEST_CASE(pause_of_a_session_that_is_not_running_records_nothing) {
  auto s = running();
  auto killed = run(s, session::Kill{events::KILL_REASON_TORN_DOWN, "x"}, 2000);
  auto r = session::decide(killed, paused_cmd(), 2001, policy());
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK(r->empty());
  auto batch = running(false);
  auto rb = session::decide(batch, paused_cmd(), 2001, policy());
  BOOST_REQUIRE(rb.ok());
  BOOST_CHECK(rb->empty());
}

BOOST_AUTO_TEST_SUITE_END()
