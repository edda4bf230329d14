// Table tests of what the session reducer records about the sandbox itself: the backend's
// container id (what leftover checks look for) and a teardown that did not remove everything
// (teardown_incomplete: a fact, and not torn down until a later attempt succeeds).
#include <boost/test/unit_test.hpp>

#include "events/session.h"
#include "events/snapshot.h"

using namespace enclave;
using session::Phase;

namespace {

session::Policy policy() { return session::Policy{}; }

// Applies a command at `now`; requires it to be accepted; appends the event types recorded.
session::State run(session::State s, const session::Command& c, TimeMs now,
                   std::vector<std::string>* types) {
  auto r = session::decide(s, c, now, policy());
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
  for (const auto& e : r.value()) {
    BOOST_CHECK_EQUAL(e.seq(), s.last_seq + 1);
    types->push_back(session::event_type(e));
    s = session::apply(s, e);
  }
  return s;
}

session::State running(const std::string& container_id) {
  events::SessionSpec spec;
  spec.set_code("print(1)");
  spec.set_language("python");
  spec.mutable_limits()->set_wall_clock_seconds(5);
  std::vector<std::string> ignored;
  auto s = run({}, session::Create{std::string(16, 'a'), "acme", "key:1", spec}, 1000, &ignored);
  s = run(s, session::Admit{1, 3, 1, 1}, 1001, &ignored);
  return run(s, session::SandboxUp{"gvisor", false, container_id}, 1002, &ignored);
}

events::WorkloadExited exited(int code) {
  events::WorkloadExited x;
  x.set_exit_code(code);
  return x;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(teardown_reducer)

BOOST_AUTO_TEST_CASE(sandbox_started_records_the_backends_container_id) {
  const std::string pool_kernel(32, 'f');  // a warm-pool kernel: not the session id
  auto s = running(pool_kernel);
  BOOST_CHECK_EQUAL(s.container_id, pool_kernel);
  // A re-attach after a restart keeps (and re-records) the same id.
  auto s2 = s;
  s2.container_id.clear();
  auto re = session::decide(s, session::SandboxUp{"gvisor", true, pool_kernel}, 1004, policy());
  BOOST_REQUIRE(re.ok() && re->size() == 1);
  BOOST_CHECK_EQUAL(re->front().sandbox_started().container_id(), pool_kernel);
  BOOST_CHECK_EQUAL(session::apply(s2, re->front()).container_id, pool_kernel);
  // Folded into and out of a snapshot unchanged.
  BOOST_CHECK_EQUAL(snapshot::session_from(snapshot::of(s)).container_id, pool_kernel);
}

BOOST_AUTO_TEST_CASE(incomplete_teardown_is_a_fact_until_a_retry_succeeds) {
  struct Row {
    std::string left;                 // what the backend reports still there ("" = all gone)
    std::vector<std::string> events;  // what is recorded
    bool torn_down;
    std::string incomplete;  // the state's teardown_incomplete afterwards
    uint32_t attempts;
  };
  const std::vector<Row> rows = {
      {"runsc delete failed: busy", {"teardown_incomplete"}, false, "runsc delete failed: busy", 1},
      // the same leftover again: nothing new to record
      {"runsc delete failed: busy", {}, false, "runsc delete failed: busy", 1},
      // something else left: a new fact
      {"cgroups left: memory", {"teardown_incomplete"}, false, "cgroups left: memory", 2},
      // a retry removed everything: torn down at last
      {"", {"session_torn_down"}, true, "", 2},
      // and only once
      {"", {}, true, "", 2},
  };
  std::vector<std::string> ignored;
  auto s = run(running(std::string(32, 'c')), session::Exit{exited(0)}, 2000, &ignored);
  TimeMs now = 2001;
  for (const auto& row : rows) {
    std::vector<std::string> types;
    s = run(s, session::TearDown{"attempt", row.left}, now++, &types);
    BOOST_TEST_CONTEXT("left=\"" << row.left << "\"") {
      BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), row.events.begin(),
                                    row.events.end());
      BOOST_CHECK_EQUAL(s.torn_down, row.torn_down);
      BOOST_CHECK_EQUAL(s.teardown_incomplete, row.incomplete);
      BOOST_CHECK_EQUAL(s.teardown_attempts, row.attempts);
      BOOST_CHECK(s.phase == Phase::kSucceeded);  // the workload's outcome is not rewritten
      auto snap = snapshot::session_from(snapshot::of(s));
      BOOST_CHECK_EQUAL(snap.teardown_incomplete, row.incomplete);
      BOOST_CHECK_EQUAL(snap.torn_down, row.torn_down);
    }
  }
}

BOOST_AUTO_TEST_CASE(incomplete_teardown_of_a_running_session_ends_it_but_does_not_tear_it_down) {
  std::vector<std::string> types;
  auto s = run(running(std::string(32, 'd')), session::TearDown{"gone?", "cgroups left: pids"},
               3000, &types);
  std::vector<std::string> want = {"quota_killed", "teardown_incomplete"};
  BOOST_CHECK_EQUAL_COLLECTIONS(types.begin(), types.end(), want.begin(), want.end());
  BOOST_CHECK(s.phase == Phase::kKilled);
  BOOST_CHECK(!s.torn_down);
  // A kill now is a no-op (already over); the retry's success tears it down.
  auto k = session::decide(s, session::Kill{events::KILL_REASON_TORN_DOWN, "user"}, 3001, policy());
  BOOST_REQUIRE(k.ok());
  BOOST_CHECK(k->empty());
  types.clear();
  s = run(s, session::TearDown{"removed"}, 3002, &types);
  BOOST_CHECK(s.torn_down);
  BOOST_CHECK_EQUAL(types.size(), 1u);
}

BOOST_AUTO_TEST_SUITE_END()
