// Admission in the creating commit (issue 24), on the simulator: a new session's
// session_created and session_admitted (or session_queued) are one batch, and the log never
// shows more sessions holding a slot than the ceiling — with concurrent creates, teardowns and
// a restart in between.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <map>
#include <set>

#include "events/ids.h"
#include "events/session.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_admission_commit)

namespace {

// The stored events of one session, in commit order.
std::vector<storage::Stored> events_of(const std::vector<storage::Stored>& all,
                                       const std::string& hex) {
  std::vector<storage::Stored> out;
  for (const auto& s : all)
    if (to_hex(s.envelope.stream()) == hex) out.push_back(s);
  return out;
}

// The most sessions holding a slot at any point of the global order (admitted, not yet torn
// down), and whether any slot was released that was never held.
uint32_t peak_holders(const std::vector<storage::Stored>& all) {
  std::map<std::string, bool> holding;
  uint32_t now = 0, peak = 0;
  for (const auto& s : all) {
    const auto& e = s.envelope;
    if (e.payload_case() == events::Envelope::kSessionAdmitted) {
      BOOST_CHECK(!holding[e.stream()]);
      holding[e.stream()] = true;
      peak = std::max(peak, ++now);
    } else if (e.payload_case() == events::Envelope::kSessionTornDown && holding[e.stream()]) {
      holding[e.stream()] = false;
      --now;
    }
  }
  return peak;
}

}  // namespace

BOOST_AUTO_TEST_CASE(created_and_admitted_are_one_commit_when_a_slot_is_free) {
  TempDir dir;
  std::string id;
  {
    auto engine = open_engine(dir.path(), 2);
    const Principal p = default_principal();
    auto s =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("print(1)\n"), cb); });
    BOOST_REQUIRE(s.ok());
    // The answer comes after the one commit: it already shows the session admitted.
    BOOST_CHECK_NE(s->phase(), "queued");
    id = s->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, id)->torn_down(); }));
  }
  auto evs = events_of(all_events(dir.path()), id);
  BOOST_REQUIRE_GE(evs.size(), 3u);
  BOOST_CHECK_EQUAL(session::event_type(evs[0].envelope), std::string("session_created"));
  BOOST_CHECK_EQUAL(session::event_type(evs[1].envelope), std::string("session_admitted"));
  // One batch: consecutive in the global order, stamped at the same instant, nothing queued.
  BOOST_CHECK_EQUAL(evs[1].global_seq, evs[0].global_seq + 1);
  BOOST_CHECK_EQUAL(evs[1].envelope.at_ms(), evs[0].envelope.at_ms());
  for (const auto& e : evs)
    BOOST_CHECK(e.envelope.payload_case() != events::Envelope::kSessionQueued);
  BOOST_CHECK_EQUAL(evs[1].envelope.session_admitted().active(), 1u);
  BOOST_CHECK_EQUAL(evs[1].envelope.session_admitted().max_concurrency(), 2u);
}

BOOST_AUTO_TEST_CASE(a_full_ceiling_records_created_and_queued_in_one_commit) {
  TempDir dir;
  std::string first, second;
  {
    auto engine = open_engine(dir.path(), 1);
    const Principal p = default_principal();
    auto a =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("#@sim hang\n"), cb); });
    BOOST_REQUIRE(a.ok());
    first = a->id();
    auto b =
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("print(2)\n"), cb); });
    BOOST_REQUIRE(b.ok());
    second = b->id();
    BOOST_CHECK_EQUAL(b->phase(), "queued");
    BOOST_REQUIRE(
        call<api::Session>([&](auto cb) { engine->teardown_session(p, first, cb); }).ok());
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, second)->torn_down(); }));
    BOOST_CHECK_EQUAL(engine->get_session(p, second)->phase(), "succeeded");
  }
  auto all = all_events(dir.path());
  auto evs = events_of(all, second);
  BOOST_REQUIRE_GE(evs.size(), 3u);
  BOOST_CHECK_EQUAL(session::event_type(evs[1].envelope), std::string("session_queued"));
  BOOST_CHECK_EQUAL(evs[1].global_seq, evs[0].global_seq + 1);
  BOOST_CHECK_EQUAL(session::event_type(evs[2].envelope), std::string("session_admitted"));
  // Admitted only after the first one's teardown was recorded.
  auto first_evs = events_of(all, first);
  BOOST_CHECK_LT(first_evs.back().global_seq, evs[2].global_seq);
  BOOST_CHECK_EQUAL(peak_holders(all), 1u);
}

BOOST_AUTO_TEST_CASE(the_log_never_shows_more_than_the_ceiling_restart_included) {
  TempDir dir;
  const Principal p = default_principal();
  constexpr uint32_t kCeiling = 3;
  auto create_many = [&](Engine& e, int n) {
    // Concurrent creates: every one asks admission before its creation is recorded.
    std::vector<std::shared_ptr<std::promise<Result<api::Session>>>> ps;
    for (int i = 0; i < n; ++i) {
      auto pr = std::make_shared<std::promise<Result<api::Session>>>();
      ps.push_back(pr);
      std::string code = i % 4 == 0 ? "#@sim hang\n" : "#@sim sleep_ms=" + std::to_string(i % 7);
      e.create_session(p, batch(code), [pr](Result<api::Session> r) { pr->set_value(r); });
    }
    std::vector<std::string> ids;
    for (auto& pr : ps) {
      auto r = pr->get_future().get();
      BOOST_REQUIRE(r.ok());
      ids.push_back(r->id());
    }
    return ids;
  };
  {
    auto engine = open_engine(dir.path(), kCeiling);
    auto ids = create_many(*engine, 24);
    // Some finish, some hang holding their slot; stop with work in every phase.
    BOOST_REQUIRE(wait_until([&] {
      int ended = 0;
      for (const auto& id : ids) ended += engine->get_session(p, id)->torn_down();
      return ended >= 2;
    }));
  }
  {
    auto engine = open_engine(dir.path(), kCeiling);
    auto ids = create_many(*engine, 12);
    // Tear everything down (the hanging ones never end by themselves), each once.
    std::set<std::string> asked;
    BOOST_REQUIRE(wait_until([&] {
      ListQuery q;
      q.limit = 1000;
      auto page = engine->list_sessions(p, q);
      if (!page.ok()) return false;
      bool all_gone = true;
      for (const auto& s : page->sessions()) {
        if (s.torn_down()) continue;
        all_gone = false;
        if (s.phase() == "running" && asked.insert(s.id()).second)
          engine->teardown_session(p, s.id(), [](Result<api::Session>) {});
      }
      return all_gone;
    }));
    BOOST_CHECK_EQUAL(ids.size(), 12u);
  }
  auto all = all_events(dir.path());
  size_t admitted = 0;
  for (const auto& s : all) admitted += s.envelope.has_session_admitted();
  BOOST_CHECK_GE(admitted, 12u);
  BOOST_CHECK_LE(peak_holders(all), kCeiling);
}

namespace {

api::CreateFleetRequest fleet_of(const std::vector<std::string>& codes) {
  api::CreateFleetRequest req;
  req.set_name("ceiling");
  for (const auto& c : codes) *req.add_members() = batch(c);
  return req;
}

}  // namespace

// A fleet's members that find a slot free are admitted in the fleet's creating commit (one
// batch with the fleet's and every member's creation); the rest are queued after it.
BOOST_AUTO_TEST_CASE(fleet_members_are_admitted_in_the_fleets_creating_commit) {
  TempDir dir;
  std::vector<std::string> members;
  std::string fleet_id;
  {
    auto engine = open_engine(dir.path(), 3);
    const Principal p = default_principal();
    auto f = call<api::Fleet>([&](auto cb) {
      engine->create_fleet(
          p, fleet_of({"print(0)\n", "print(1)\n", "print(2)\n", "print(3)\n", "print(4)\n"}), cb);
    });
    BOOST_REQUIRE(f.ok());
    fleet_id = f->id();
    for (const auto& m : f->members()) members.push_back(m.session_id());
    BOOST_REQUIRE(wait_until([&] { return fleet_done(*engine, p, fleet_id); }));
    BOOST_CHECK_EQUAL(engine->get_fleet(p, fleet_id)->phase(), "completed");
  }
  BOOST_REQUIRE_EQUAL(members.size(), 5u);
  auto all = all_events(dir.path());
  auto fleet_evs = events_of(all, fleet_id);
  BOOST_REQUIRE(!fleet_evs.empty());
  const uint64_t g0 = fleet_evs.front().global_seq;
  const TimeMs at = fleet_evs.front().envelope.at_ms();
  // The creating batch: the fleet, then each member's created (+ admitted for the first 3).
  uint64_t expect = g0 + 1;
  for (size_t i = 0; i < members.size(); ++i) {
    auto evs = events_of(all, members[i]);
    BOOST_REQUIRE_GE(evs.size(), 3u);
    BOOST_CHECK_EQUAL(session::event_type(evs[0].envelope), std::string("session_created"));
    BOOST_CHECK_EQUAL(evs[0].global_seq, expect++);  // contiguous: the fleet's one batch
    // Stamped in that batch (the engine reads the real clock here: it may tick once within it).
    BOOST_CHECK_LE(std::llabs(static_cast<long long>(evs[0].envelope.at_ms()) - at), 1);
    if (i < 3) {
      BOOST_CHECK_EQUAL(session::event_type(evs[1].envelope), std::string("session_admitted"));
      BOOST_CHECK_EQUAL(evs[1].global_seq, expect++);
      BOOST_CHECK_EQUAL(evs[1].envelope.session_admitted().active(), i + 1);
      BOOST_CHECK_EQUAL(evs[1].envelope.session_admitted().max_concurrency(), 3u);
    } else {
      BOOST_CHECK_GT(evs[1].global_seq, g0 + 5 + 3);  // after the creating batch (g0..g0+8)
    }
  }
  BOOST_CHECK_LE(peak_holders(all), 3u);
}

// Fleets, single sessions and teardowns at once, across a restart: never more than the ceiling.
BOOST_AUTO_TEST_CASE(fleets_never_show_more_than_the_ceiling_restart_included) {
  TempDir dir;
  const Principal p = default_principal();
  constexpr uint32_t kCeiling = 3;
  auto codes = [](int n, int salt) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
      out.push_back((i + salt) % 3 == 0 ? "#@sim hang\n"
                                        : "#@sim sleep_ms=" + std::to_string((i + salt) % 5));
    return out;
  };
  auto start_fleets = [&](Engine& e, int salt) {
    std::vector<std::shared_ptr<std::promise<Result<api::Fleet>>>> ps;
    for (int k = 0; k < 3; ++k) {
      auto pr = std::make_shared<std::promise<Result<api::Fleet>>>();
      ps.push_back(pr);
      e.create_fleet(p, fleet_of(codes(4 + k * 3, salt + k)),
                     [pr](Result<api::Fleet> r) { pr->set_value(r); });
      e.create_session(p, batch("#@sim sleep_ms=1"), [](Result<api::Session>) {});
    }
    for (auto& pr : ps) BOOST_REQUIRE(pr->get_future().get().ok());
  };
  auto tear_down_all = [&](Engine& e) {
    std::set<std::string> asked;
    return wait_until([&] {
      ListQuery q;
      q.limit = 1000;
      auto page = e.list_sessions(p, q);
      if (!page.ok()) return false;
      bool all_gone = true;
      for (const auto& s : page->sessions()) {
        if (s.torn_down()) continue;
        all_gone = false;
        if (s.phase() == "running" && asked.insert(s.id()).second)
          e.teardown_session(p, s.id(), [](Result<api::Session>) {});
      }
      return all_gone;
    });
  };
  {
    auto engine = open_engine(dir.path(), kCeiling);
    start_fleets(*engine, 0);
    // Stop with members holding slots (the hanging ones) and others still queued.
    BOOST_REQUIRE(wait_until([&] {
      ListQuery q;
      q.limit = 1000;
      auto page = engine->list_sessions(p, q);
      int ended = 0;
      if (page.ok())
        for (const auto& s : page->sessions()) ended += s.torn_down();
      return ended >= 2;
    }));
  }
  {
    auto engine = open_engine(dir.path(), kCeiling);
    start_fleets(*engine, 1);
    BOOST_REQUIRE(tear_down_all(*engine));
  }
  auto all = all_events(dir.path());
  size_t admitted = 0, in_creating_batch = 0;
  for (const auto& s : all) admitted += s.envelope.has_session_admitted();
  // Members admitted in a creating batch: an admitted right after its own session_created.
  for (size_t i = 1; i < all.size(); ++i)
    in_creating_batch += all[i].envelope.has_session_admitted() &&
                         all[i - 1].envelope.has_session_created() &&
                         all[i - 1].envelope.stream() == all[i].envelope.stream();
  BOOST_CHECK_GE(admitted, 24u);  // of 48 sessions, most run
  BOOST_CHECK_GE(in_creating_batch, 1u);
  BOOST_CHECK_LE(peak_holders(all), kCeiling);
}

BOOST_AUTO_TEST_SUITE_END()
