// Restart: stop the actor system mid-fleet, reopen the same data dir; every member ends exactly
// once, nothing is lost or run twice, and each stream has no gap and no duplicate.
#include <boost/test/unit_test.hpp>
#include <set>

#include "events/ids.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_restart)

namespace {

void check_log_invariants(const std::string& dir, size_t members) {
  auto events = all_events(dir);
  std::map<std::string, std::vector<uint64_t>> seqs;
  std::map<std::string, int> admitted, exited, torn, terminal_entries;
  std::map<std::string, session::State> fold;
  for (const auto& s : events) {
    const auto& e = s.envelope;
    seqs[e.stream()].push_back(e.seq());
    if (!e.has_session_created() && !fold.count(e.stream())) continue;
    auto before = fold[e.stream()];
    auto after = session::apply(before, e);
    if (!before.ended() && after.ended()) terminal_entries[e.stream()]++;
    fold[e.stream()] = after;
    admitted[e.stream()] += e.has_session_admitted();
    exited[e.stream()] += e.has_workload_exited();
    torn[e.stream()] += e.has_session_torn_down();
  }
  for (const auto& [stream, ss] : seqs)
    for (size_t i = 0; i < ss.size(); ++i)
      BOOST_CHECK_MESSAGE(ss[i] == i + 1, "stream " << to_hex(stream) << " has seq " << ss[i]
                                                    << " at position " << i);
  BOOST_CHECK_EQUAL(fold.size(), members);
  for (const auto& [id, st] : fold) {
    BOOST_CHECK_MESSAGE(st.ended(), to_hex(id) << " not terminal");
    BOOST_CHECK_EQUAL(terminal_entries[id], 1);
    BOOST_CHECK_LE(admitted[id], 1);  // never run twice
    BOOST_CHECK_LE(exited[id], 1);
    BOOST_CHECK_EQUAL(torn[id], 1);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(stop_mid_fleet_and_resume) {
  TempDir dir;
  const Principal p = default_principal();
  std::string fid;
  size_t succeeded_before = 0;
  std::set<std::string> succeeded_ids;
  {
    auto engine = open_engine(dir.path(), 2, {}, {.tick_ms = 20});
    api::CreateFleetRequest req;
    for (int i = 0; i < 20; ++i) *req.add_members() = batch("print(" + std::to_string(i) + ")");
    auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, req, cb); });
    BOOST_REQUIRE(f.ok());
    fid = f->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_fleet(p, fid)->counts().succeeded() >= 5; }));
    auto mid = engine->get_fleet(p, fid);
    for (const auto& m : mid->members())
      if (m.phase() == "succeeded") succeeded_ids.insert(m.session_id());
    succeeded_before = succeeded_ids.size();
  }  // the engine stops here: queued and running members are left as the log says
  {
    auto engine = open_engine(dir.path(), 2, {}, {.tick_ms = 5});
    auto f = engine->get_fleet(p, fid);
    BOOST_REQUIRE(f.ok());
    BOOST_CHECK_GE(f->counts().succeeded(), succeeded_before);
    BOOST_REQUIRE(wait_until([&] {
      auto l = engine->list_sessions(p, {fid, "", 1000, ""});
      for (const auto& s : l->sessions())
        if (!s.torn_down()) return false;
      return l->sessions_size() == 20;
    }));
    auto done = engine->get_fleet(p, fid);
    const auto& c = done->counts();
    BOOST_CHECK_EQUAL(c.succeeded() + c.failed() + c.killed(), 20u);
    for (const auto& m : done->members())
      if (succeeded_ids.count(m.session_id())) BOOST_CHECK_EQUAL(m.phase(), "succeeded");
  }
  check_log_invariants(dir.path(), 20);
}

BOOST_AUTO_TEST_CASE(running_sessions_lost_by_the_backend_end_as_sandbox_error) {
  // A fresh simulator has none of the old sandboxes: the running session must be ended with a
  // clear reason, never silently lost and never run again.
  TempDir dir;
  const Principal p = default_principal();
  std::string sid;
  {
    auto engine = open_engine(dir.path(), 2);
    auto s =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("#@sim hang"), cb); });
    BOOST_REQUIRE(s.ok());
    sid = s->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, sid)->phase() == "running"; }));
  }
  auto engine = open_engine(dir.path(), 2);
  BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, sid)->torn_down(); }));
  auto v = engine->get_session(p, sid);
  BOOST_CHECK_EQUAL(v->phase(), "killed");
  BOOST_CHECK_EQUAL(v->kill_reason(), "sandbox_error");
  auto audit = engine->get_audit(p, sid);
  bool said = false;
  for (const auto& e : audit->events())
    said |= e.type() == "quota_killed" &&
            e.data().fields().at("detail").string_value().find("restart") != std::string::npos;
  BOOST_CHECK(said);
}

BOOST_AUTO_TEST_SUITE_END()
