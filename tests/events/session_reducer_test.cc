// Table tests of the session reducer: every event, every phase transition, illegal commands.
#define BOOST_TEST_MODULE reducers
#include <boost/test/unit_test.hpp>

#include "events/session.h"

using namespace enclave;
using session::Phase;

namespace {

session::Policy policy() {
  session::Policy p;
  p.idle_ttl_ms = 1000;
  p.max_lifetime_ms = 10'000;
  p.max_cumulative_ms = 100;
  return p;
}

events::SessionSpec spec(bool interactive = false, bool kill_on_denied = false) {
  events::SessionSpec s;
  s.set_code("print(1)");
  s.set_language("python");
  s.set_exec_mode(interactive ? events::EXEC_MODE_INTERACTIVE : events::EXEC_MODE_BATCH);
  s.mutable_limits()->set_wall_clock_seconds(5);
  s.mutable_egress()->set_mode("deny_all");
  s.mutable_egress()->set_kill_on_denied(kill_on_denied);
  return s;
}

// Applies a command at `now`; requires it to be accepted.
session::State run(session::State s, const session::Command& c, TimeMs now,
                   std::vector<std::string>* types = nullptr) {
  auto r = session::decide(s, c, now, policy());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  for (const auto& e : r.value()) {
    BOOST_CHECK_EQUAL(e.seq(), s.last_seq + 1);
    if (types) types->push_back(session::event_type(e));
    s = session::apply(s, e);
  }
  return s;
}

session::State created(bool interactive = false, bool kod = false) {
  return run({}, session::Create{std::string(16, 'a'), "acme", "key:1", spec(interactive, kod)},
             1000);
}

session::State running(bool interactive = false, bool kod = false) {
  auto s = created(interactive, kod);
  s = run(s, session::Admit{1, 3, 1, 1}, 1001);
  return run(s, session::SandboxUp{"simulator", false}, 1002);
}

events::WorkloadExited exited(int code) {
  events::WorkloadExited x;
  x.set_exit_code(code);
  return x;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(session_reducer)

BOOST_AUTO_TEST_CASE(happy_batch_path_visits_every_phase) {
  std::vector<std::string> types;
  auto s = run({}, session::Create{std::string(16, 'a'), "acme", "key:1", spec()}, 1000, &types);
  BOOST_CHECK(s.phase == Phase::kQueued);
  s = run(s, session::RecordQueued{2, 3, 7}, 1001, &types);
  BOOST_CHECK(s.phase == Phase::kQueued);
  BOOST_CHECK_EQUAL(s.ticket, 7u);
  s = run(s, session::Admit{1, 3, 7, 1}, 1002, &types);
  BOOST_CHECK(s.phase == Phase::kStarting);
  s = run(s, session::SandboxUp{"simulator", false}, 1003, &types);
  BOOST_CHECK(s.phase == Phase::kRunning);
  BOOST_CHECK_EQUAL(s.started_at_ms, 1003);
  s = run(s, session::Exit{exited(0)}, 1004, &types);
  BOOST_CHECK(s.phase == Phase::kSucceeded);
  BOOST_CHECK_EQUAL(*s.exit_code, 0);
  events::UsageMetered u;
  u.set_wall_ms(5);
  s = run(s, session::Meter{u}, 1005, &types);
  BOOST_CHECK(s.usage_recorded);
  s = run(s, session::TearDown{"removed"}, 1006, &types);
  BOOST_CHECK(s.torn_down);
  BOOST_CHECK(s.phase == Phase::kSucceeded);
  std::vector<std::string> want = {"session_created",  "session_queued",  "session_admitted",
                                   "sandbox_started",  "workload_exited", "usage_metered",
                                   "session_torn_down"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(exit_code_decides_succeeded_or_failed) {
  struct Row {
    int code;
    Phase want;
  };
  for (Row r : {Row{0, Phase::kSucceeded}, Row{1, Phase::kFailed}, Row{3, Phase::kFailed},
                Row{-1, Phase::kFailed}, Row{137, Phase::kFailed}}) {
    auto s = run(running(), session::Exit{exited(r.code)}, 2000);
    BOOST_CHECK_MESSAGE(s.phase == r.want, "exit " << r.code);
    BOOST_CHECK_EQUAL(s.ended_at_ms, 2000);
  }
}

BOOST_AUTO_TEST_CASE(every_kill_reason_ends_killed_with_that_reason) {
  using K = events::KillReason;
  for (K k : {events::KILL_REASON_WALL_CLOCK_EXCEEDED, events::KILL_REASON_IDLE_TIMEOUT,
              events::KILL_REASON_LIFETIME_EXCEEDED, events::KILL_REASON_TURN_BUDGET_EXCEEDED,
              events::KILL_REASON_MEMORY_EXCEEDED, events::KILL_REASON_PIDS_EXCEEDED,
              events::KILL_REASON_EGRESS_DENIED, events::KILL_REASON_TORN_DOWN,
              events::KILL_REASON_SANDBOX_ERROR}) {
    auto s = run(running(), session::Kill{k, "test"}, 2000);
    BOOST_CHECK(s.phase == Phase::kKilled);
    BOOST_CHECK_EQUAL(s.kill_reason, k);
    BOOST_CHECK(std::string(session::kill_reason_name(k)).size() > 0);
    // the workload's exit afterwards does not change the phase
    s = run(s, session::Exit{exited(137)}, 2001);
    BOOST_CHECK(s.phase == Phase::kKilled);
    BOOST_CHECK_EQUAL(*s.exit_code, 137);
  }
}

BOOST_AUTO_TEST_CASE(observed_quota_records_a_kill_before_the_exit) {
  auto x = exited(137);
  x.set_observed(events::KILL_REASON_MEMORY_EXCEEDED);
  std::vector<std::string> types;
  auto s = run(running(), session::Exit{x}, 2000, &types);
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_MEMORY_EXCEEDED);
  std::vector<std::string> want = {"quota_killed", "workload_exited"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(kill_while_queued_is_torn_down_at_once) {
  std::vector<std::string> types;
  auto s = run(created(), session::Kill{events::KILL_REASON_TORN_DOWN, "user"}, 2000, &types);
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK(s.torn_down);
  BOOST_CHECK_EQUAL(types.size(), 2u);
  // a late grant is refused
  auto r = session::decide(s, session::Admit{1, 3, 1, 1}, 2001, policy());
  BOOST_CHECK(!r.ok());
}

BOOST_AUTO_TEST_CASE(second_teardown_and_second_kill_are_no_ops) {
  auto s = run(running(), session::Kill{events::KILL_REASON_TORN_DOWN, "user"}, 2000);
  auto again =
      session::decide(s, session::Kill{events::KILL_REASON_TORN_DOWN, "user"}, 2001, policy());
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK(again->empty());
  s = run(s, session::TearDown{"removed"}, 2002);
  auto third = session::decide(s, session::TearDown{"removed"}, 2003, policy());
  BOOST_REQUIRE(third.ok());
  BOOST_CHECK(third->empty());
}

BOOST_AUTO_TEST_CASE(illegal_commands_are_errors) {
  // exec on a batch session, on a queued one, on an ended one
  BOOST_CHECK(!session::check_exec(running(false)).ok());
  BOOST_CHECK_EQUAL(session::check_exec(created(true)).error().reason, "session_not_running");
  auto ended = run(running(true), session::Kill{events::KILL_REASON_IDLE_TIMEOUT, ""}, 3000);
  auto e = session::check_exec(ended);
  BOOST_CHECK(!e.ok());
  BOOST_CHECK(e.error().code == ErrorCode::kConflict);
  BOOST_CHECK_EQUAL(e.error().reason, "session_not_running");
  // creating twice, admitting twice, anything on a session that does not exist
  auto s = created();
  BOOST_CHECK(!session::decide(s, session::Create{s.id, "acme", "k", spec()}, 1, policy()).ok());
  auto adm = run(s, session::Admit{1, 3, 1, 1}, 2);
  BOOST_CHECK(!session::decide(adm, session::Admit{1, 3, 1, 2}, 3, policy()).ok());
  BOOST_CHECK(!session::decide(session::State{}, session::Reap{}, 3, policy()).ok());
  // a turn that completes out of order
  events::ExecTurn t;
  t.set_turn(5);
  BOOST_CHECK(!session::decide(running(true), session::CompleteTurn{t}, 3, policy()).ok());
}

BOOST_AUTO_TEST_CASE(turns_count_and_meter_at_least_one_ms) {
  auto s = running(true);
  BOOST_CHECK_EQUAL(*session::check_exec(s), 1u);
  events::ExecTurn t;
  t.set_turn(1);
  t.set_duration_ms(0);
  t.set_has_exit_code(true);
  s = run(s, session::CompleteTurn{t}, 1500);
  BOOST_CHECK_EQUAL(s.turns, 1u);
  BOOST_CHECK_EQUAL(s.turn_ms_total, 1u);  // a 0 ms turn counts 1 ms
  BOOST_CHECK_EQUAL(s.last_activity_ms, 1500);
  BOOST_CHECK_EQUAL(*session::check_exec(s), 2u);
}

BOOST_AUTO_TEST_CASE(cumulative_meter_kills_when_exceeded) {
  auto s = running(true);
  events::ExecTurn t;
  t.set_has_exit_code(true);
  t.set_turn(1);
  t.set_duration_ms(60);
  s = run(s, session::CompleteTurn{t}, 1100);
  BOOST_CHECK(s.phase == Phase::kRunning);
  t.set_turn(2);
  std::vector<std::string> types;
  s = run(s, session::CompleteTurn{t}, 1200, &types);  // 120 > 100
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_TURN_BUDGET_EXCEEDED);
  BOOST_CHECK_EQUAL(types.back(), "quota_killed");
}

// Issue 16: the budget is charged max(turn wall, sandbox CPU) — the CPU figure comes from the host
// (cgroup), so a forged "done" frame (1 ms turns) or a thread burning between turns still trips it.
BOOST_AUTO_TEST_CASE(cpu_meter_table) {
  session::Policy p = policy();  // budget 100 ms
  p.cpu_record_step_ms = 10;
  struct Step {
    enum Kind { kTurn, kCpu } kind;
    uint64_t wall_ms;  // kTurn: the turn's duration
    uint64_t cpu_ms;   // kTurn: cpu at turn end; kCpu: the sample
  };
  struct Row {
    const char* name;
    bool interactive;
    std::vector<Step> steps;
    std::vector<std::string> last_types;  // events of the last step
    Phase phase;
    uint64_t cpu_ms;         // State::cpu_ms after
    uint64_t turn_ms_total;  // State::turn_ms_total after
  };
  const std::vector<Row> rows = {
      {"an idle kernel records nothing",
       true,
       {{Step::kCpu, 0, 0}, {Step::kCpu, 0, 5}},
       {},
       Phase::kRunning,
       0,
       0},
      {"a step of CPU is recorded",
       true,
       {{Step::kCpu, 0, 50}},
       {"cpu_metered"},
       Phase::kRunning,
       50,
       0},
      {"less than a step since the last record is not",
       true,
       {{Step::kCpu, 0, 50}, {Step::kCpu, 0, 55}},
       {},
       Phase::kRunning,
       50,
       0},
      {"a falling figure is ignored",
       true,
       {{Step::kCpu, 0, 50}, {Step::kCpu, 0, 20}},
       {},
       Phase::kRunning,
       50,
       0},
      {"CPU between turns past the budget kills",
       true,
       {{Step::kCpu, 0, 101}},
       {"cpu_metered", "quota_killed"},
       Phase::kKilled,
       101,
       0},
      {"forged done: 1 ms turns, CPU trips the budget later",
       true,
       {{Step::kTurn, 1, 2}, {Step::kTurn, 1, 60}, {Step::kCpu, 0, 130}},
       {"cpu_metered", "quota_killed"},
       Phase::kKilled,
       130,
       2},
      {"CPU sampled at turn end counts in that turn",
       true,
       {{Step::kTurn, 1, 150}},
       {"exec_turn", "quota_killed"},
       Phase::kKilled,
       150,
       1},
      {"CPU under wall time: wall is charged",
       true,
       {{Step::kTurn, 60, 10}, {Step::kTurn, 60, 20}},
       {"exec_turn", "quota_killed"},
       Phase::kKilled,
       20,
       120},
      {"within budget on both figures",
       true,
       {{Step::kTurn, 40, 30}, {Step::kCpu, 0, 90}},
       {"cpu_metered"},
       Phase::kRunning,
       90,
       40},
      {"a batch session is never CPU-metered",
       false,
       {{Step::kCpu, 0, 5000}},
       {},
       Phase::kRunning,
       0,
       0},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      auto s = running(row.interactive);
      std::vector<std::string> types;
      TimeMs now = 1100;
      for (const auto& st : row.steps) {
        types.clear();
        session::Command c = session::MeterCpu{st.cpu_ms};
        if (st.kind == Step::kTurn) {
          events::ExecTurn t;
          t.set_turn(s.turns + 1);
          t.set_has_exit_code(true);
          t.set_duration_ms(st.wall_ms);
          t.set_cpu_ms(st.cpu_ms);
          c = session::CompleteTurn{t};
        }
        auto r = session::decide(s, c, now++, p);
        BOOST_REQUIRE(r.ok());
        for (const auto& e : r.value()) {
          types.push_back(session::event_type(e));
          if (e.has_quota_killed()) {
            // Audited with both figures.
            BOOST_CHECK_EQUAL(e.quota_killed().reason(), events::KILL_REASON_TURN_BUDGET_EXCEEDED);
            BOOST_CHECK_EQUAL(e.quota_killed().cpu_ms(), row.cpu_ms);
            BOOST_CHECK_EQUAL(e.quota_killed().turn_ms_total(), row.turn_ms_total);
            BOOST_CHECK(e.quota_killed().detail().find("sandbox CPU") != std::string::npos);
          }
          s = session::apply(s, e);
        }
      }
      BOOST_CHECK(types == row.last_types);
      BOOST_CHECK(s.phase == row.phase);
      BOOST_CHECK_EQUAL(s.cpu_ms, row.cpu_ms);
      BOOST_CHECK_EQUAL(s.turn_ms_total, row.turn_ms_total);
    }
  }
}

BOOST_AUTO_TEST_CASE(cpu_sample_after_the_end_records_nothing) {
  auto s = run(running(true), session::Kill{events::KILL_REASON_TORN_DOWN, "bye"}, 1100);
  auto r = session::decide(s, session::MeterCpu{1'000'000}, 1200, policy());
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK(r->empty());
}

BOOST_AUTO_TEST_CASE(turn_timeout_kills_with_wall_clock) {
  events::ExecTurn t;
  t.set_turn(1);
  t.set_timed_out(true);
  auto s = run(running(true), session::CompleteTurn{t}, 1100);
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_WALL_CLOCK_EXCEEDED);
  BOOST_CHECK_EQUAL(s.turns, 1u);
}

BOOST_AUTO_TEST_CASE(interrupted_turn_timeout_keeps_the_session) {
  events::ExecTurn t;
  t.set_turn(1);
  t.set_timed_out(true);
  t.set_interrupted(true);  // stopped by the interrupt within the grace period
  t.set_duration_ms(30);
  std::vector<std::string> types;
  auto s = run(running(true), session::CompleteTurn{t}, 1100, &types);
  BOOST_CHECK(s.phase == Phase::kRunning);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_NONE);
  BOOST_CHECK_EQUAL(s.turns, 1u);
  BOOST_CHECK_EQUAL(s.turn_ms_total, 30u);  // its time still counts against the budget
  BOOST_CHECK_EQUAL(types.size(), 1u);      // exec_turn only, no quota_killed
  t.set_turn(2);
  t.set_interrupted(false);  // the next one ignored its interrupt: the kernel is lost
  s = run(s, session::CompleteTurn{t}, 1200);
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_WALL_CLOCK_EXCEEDED);
}

BOOST_AUTO_TEST_CASE(idle_ttl_resets_with_each_turn) {
  auto s = running(true);  // started at 1002, idle ttl 1000
  BOOST_CHECK_EQUAL(*session::next_deadline(s, policy()), 2002);
  BOOST_CHECK(!session::due_kill(s, 2001, policy()));
  events::ExecTurn t;
  t.set_turn(1);
  t.set_has_exit_code(true);
  s = run(s, session::CompleteTurn{t}, 1900);
  BOOST_CHECK(!session::due_kill(s, 2500, policy()));  // reset by the turn at 1900
  BOOST_CHECK_EQUAL(*session::due_kill(s, 2900, policy()), events::KILL_REASON_IDLE_TIMEOUT);
  auto r = session::decide(s, session::Reap{}, 2899, policy());
  BOOST_CHECK(r->empty());  // not due yet: nothing recorded
  s = run(s, session::Reap{}, 2900);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_IDLE_TIMEOUT);
}

BOOST_AUTO_TEST_CASE(lifetime_bounds_a_busy_session) {
  auto s = running(true);
  events::ExecTurn t;
  t.set_has_exit_code(true);
  for (uint32_t i = 1; i <= 12; ++i) {  // a turn every 900 ms keeps it from idling
    t.set_turn(i);
    s = run(s, session::CompleteTurn{t}, 1002 + 900 * i);
  }
  BOOST_CHECK_EQUAL(*session::due_kill(s, 11002, policy()), events::KILL_REASON_LIFETIME_EXCEEDED);
}

BOOST_AUTO_TEST_CASE(batch_wall_clock_is_due_at_its_limit) {
  auto s = running(false);  // started 1002, limit 5 s
  BOOST_CHECK_EQUAL(*session::next_deadline(s, policy()), 6002);
  BOOST_CHECK(!session::due_kill(s, 6001, policy()));
  BOOST_CHECK_EQUAL(*session::due_kill(s, 6002, policy()), events::KILL_REASON_WALL_CLOCK_EXCEEDED);
}

BOOST_AUTO_TEST_CASE(starting_too_long_is_a_sandbox_error) {
  auto s = run(created(), session::Admit{1, 3, 1, 1}, 1000);
  auto p = policy();
  BOOST_CHECK_EQUAL(*session::due_kill(s, 1000 + p.start_timeout_ms, p),
                    events::KILL_REASON_SANDBOX_ERROR);
}

BOOST_AUTO_TEST_CASE(egress_denial_is_recorded_and_kills_only_when_asked) {
  std::vector<std::string> types;
  auto s = run(running(false, false),
               session::DenyEgress{"169.254.169.254", 80, "169.254.169.254", "not_allowed"}, 1500,
               &types);
  BOOST_CHECK(s.phase == Phase::kRunning);
  BOOST_CHECK_EQUAL(s.egress_denied, 1u);
  types.clear();
  s = run(running(false, true),
          session::DenyEgress{"169.254.169.254", 80, "169.254.169.254", "not_allowed"}, 1500,
          &types);
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK_EQUAL(s.kill_reason, events::KILL_REASON_EGRESS_DENIED);
  std::vector<std::string> want = {"egress_denied", "quota_killed"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(egress_verdicts_carry_the_checked_address) {
  // A refusal by the server's policy names the address and why; it kills like any denial.
  auto r = session::decide(running(false, true),
                           session::DenyEgress{"localhost", 8090, "127.0.0.1", "internal_address"},
                           1500, policy());
  BOOST_REQUIRE(r.ok());
  BOOST_REQUIRE_EQUAL(r->size(), 2u);
  BOOST_CHECK_EQUAL(r->at(0).egress_denied().host(), "localhost");
  BOOST_CHECK_EQUAL(r->at(0).egress_denied().ip(), "127.0.0.1");
  BOOST_CHECK_EQUAL(r->at(0).egress_denied().reason(), "internal_address");
  BOOST_CHECK(r->at(1).has_quota_killed());
  // An opened connection is recorded with its address and never ends the session.
  std::vector<std::string> types;
  auto s = run(running(false, true), session::AllowEgress{"example.com", 443, "93.184.216.34"},
               1500, &types);
  s = run(s, session::AllowEgress{"example.com", 443, "93.184.216.34"}, 1501, &types);
  BOOST_CHECK(s.phase == Phase::kRunning);
  BOOST_CHECK_EQUAL(s.egress_allowed, 2u);
  BOOST_CHECK_EQUAL(s.egress_denied, 0u);
  const std::vector<std::string> want = {"egress_allowed", "egress_allowed"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  auto again =
      session::decide(s, session::AllowEgress{"example.com", 443, "93.184.216.34"}, 1502, policy());
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK_EQUAL(again->front().egress_allowed().ip(), "93.184.216.34");
  BOOST_CHECK_EQUAL(again->front().egress_allowed().port(), 443u);
}

BOOST_AUTO_TEST_CASE(reattach_records_sandbox_started_again) {
  auto s = running();
  auto r = session::decide(s, session::SandboxUp{"gvisor", true}, 3000, policy());
  BOOST_REQUIRE_EQUAL(r->size(), 1u);
  BOOST_CHECK(r->front().sandbox_started().reattached());
  // a fresh start on a running session is a no-op
  BOOST_CHECK(session::decide(s, session::SandboxUp{"gvisor", false}, 3000, policy())->empty());
}

BOOST_AUTO_TEST_CASE(apply_ignores_events_for_a_session_that_does_not_exist) {
  events::Envelope e;
  e.set_seq(1);
  e.mutable_sandbox_started();
  auto s = session::apply(session::State{}, e);
  BOOST_CHECK(!s.exists);
}

// Issue 24: admission's answer rides in the creating batch, decided by the same reducer.
BOOST_AUTO_TEST_CASE(create_with_admission_records_both_events_in_one_batch) {
  struct Row {
    std::variant<std::monostate, session::RecordQueued, session::Admit> admission;
    std::vector<std::string> want;
    Phase phase;
  };
  const std::vector<Row> rows = {
      {std::monostate{}, {"session_created"}, Phase::kQueued},
      {session::Admit{1, 2, 7, 3}, {"session_created", "session_admitted"}, Phase::kStarting},
      {session::RecordQueued{4, 2, 9, 1}, {"session_created", "session_queued"}, Phase::kQueued},
  };
  for (const auto& row : rows) {
    session::Create c{std::string(16, 'a'), "acme", "key:1", spec()};
    c.admission = row.admission;
    auto r = session::decide({}, c, 1000, policy());
    BOOST_REQUIRE(r.ok());
    std::vector<std::string> types;
    session::State s;
    for (const auto& e : *r) {
      types.push_back(session::event_type(e));
      BOOST_CHECK_EQUAL(e.seq(), s.last_seq + 1);
      BOOST_CHECK_EQUAL(e.at_ms(), 1000);
      s = session::apply(s, e);
    }
    BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), row.want.begin(), row.want.end());
    BOOST_CHECK(s.phase == row.phase);
  }
  // The admitted event carries admission's figures, exactly as a later Admit would.
  session::Create c{std::string(16, 'a'), "acme", "key:1", spec()};
  c.admission = session::Admit{1, 2, 7, 3};
  auto r = session::decide({}, c, 1000, policy());
  const auto& a = r->back().session_admitted();
  BOOST_CHECK_EQUAL(a.active(), 1u);
  BOOST_CHECK_EQUAL(a.max_concurrency(), 2u);
  BOOST_CHECK_EQUAL(a.ticket(), 7u);
  BOOST_CHECK_EQUAL(a.grant(), 3u);
  auto s = session::apply(session::apply({}, r->front()), r->back());
  BOOST_CHECK(s.admitted);
  BOOST_CHECK_EQUAL(s.admitted_at_ms, 1000);
  // A session that exists already is refused, admission answer or not.
  BOOST_CHECK(!session::decide(s, c, 1001, policy()).ok());
}

BOOST_AUTO_TEST_CASE(settled_means_ended_with_its_exit_or_torn_down) {
  BOOST_CHECK(!session::settled(session::State{}));
  BOOST_CHECK(!session::settled(created()));
  BOOST_CHECK(!session::settled(running()));
  BOOST_CHECK(session::settled(run(running(), session::Exit{exited(0)}, 2000)));
  // Killed, but the workload's output is not recorded yet: not settled until the exit is.
  auto killed = run(running(), session::Kill{events::KILL_REASON_WALL_CLOCK_EXCEEDED, "t"}, 2000);
  BOOST_CHECK(!session::settled(killed));
  BOOST_CHECK(session::settled(run(killed, session::Exit{exited(137)}, 2001)));
  // Killed while queued: torn down at once, no exit will ever come.
  auto never = run(created(), session::Kill{events::KILL_REASON_TORN_DOWN, "t"}, 2000);
  BOOST_CHECK(session::settled(never));
}

// Issue 20: files a request stages are data the session was given — file_written {via:
// "request"} with their size and sha256, in the creating commit (admission answer included).
BOOST_AUTO_TEST_CASE(staged_files_are_audited_in_the_creating_commit) {
  auto sp = spec();
  auto* f = sp.add_files();
  f->set_path("/home/user/in.csv");
  f->set_content("a,b\n");
  sp.add_files()->set_path("/home/user/empty");
  session::Create c{std::string(16, 'a'), "acme", "key:1", sp};
  c.admission = session::Admit{1, 2, 7, 3};
  auto r = session::decide({}, c, 1000, policy());
  BOOST_REQUIRE(r.ok());
  std::vector<std::string> types;
  session::State s;
  for (const auto& e : *r) {
    types.push_back(session::event_type(e));
    BOOST_CHECK_EQUAL(e.seq(), s.last_seq + 1);
    s = session::apply(s, e);
  }
  const std::vector<std::string> want = {"session_created", "file_written", "file_written",
                                         "session_admitted"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  const auto& w = (*r)[1].file_written();
  BOOST_CHECK_EQUAL(w.path(), "/home/user/in.csv");
  BOOST_CHECK_EQUAL(w.size(), 4u);
  BOOST_CHECK_EQUAL(w.via(), "request");
  BOOST_CHECK_EQUAL(w.sha256(), "5be08c9684a1d25efcee09318204824278b08bbfb4aef973ffefd0b9d7478313");
  BOOST_CHECK_EQUAL((*r)[2].file_written().sha256(),
                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_CHECK(s.phase == Phase::kStarting);
}

BOOST_AUTO_TEST_SUITE_END()
