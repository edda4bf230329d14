// Actor-level tests on the simulator: a fleet under an admission ceiling, FIFO order, the
// aggregate fold, a hostile member.
#define BOOST_TEST_MODULE engine
#include <boost/test/unit_test.hpp>
#include <map>
#include <mutex>
#include <set>

#include "events/ids.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_fleet)

BOOST_AUTO_TEST_CASE(hundred_members_ceiling_three_fifo_partial) {
  TempDir dir;
  std::string fleet_id;
  const Principal p = default_principal();
  {
    auto engine = open_engine(dir.path(), 3, {}, {.tick_ms = 3});
    api::CreateFleetRequest req;
    req.set_name("hundred");
    for (int i = 0; i < 100; ++i) {
      int v = i * i + 1;
      *req.add_members() = batch("print('shard " + std::to_string(i) +
                                 "')\n#@sim result={\"shard\": " + std::to_string(i) +
                                 ", \"value\": " + std::to_string(v) + "}\n");
    }
    auto hostile = batch("#@sim egress=169.254.169.254:80\n#@sim hang\n");
    hostile.mutable_egress()->set_kill_on_denied(true);
    *req.add_members() = hostile;
    auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, req, cb); });
    BOOST_REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.error().message));
    fleet_id = f->id();
    BOOST_CHECK_EQUAL(f->members_size(), 101);
    BOOST_REQUIRE(wait_until([&] { return fleet_done(*engine, p, fleet_id); }));
    auto done = engine->get_fleet(p, fleet_id);
    BOOST_CHECK_EQUAL(done->phase(), "partial");
    BOOST_CHECK_EQUAL(done->counts().succeeded(), 100u);
    BOOST_CHECK_EQUAL(done->counts().killed(), 1u);
    // the aggregate of the clean shards
    long sum = 0;
    for (const auto& m : done->members()) {
      auto r = engine->get_result(p, m.session_id());
      BOOST_REQUIRE(r.ok());
      if (m.phase() == "succeeded")
        sum += static_cast<long>(r->json().struct_value().fields().at("value").number_value());
    }
    BOOST_CHECK_EQUAL(sum, 328450);
    auto hostile_id = done->members(100).session_id();
    auto hs = engine->get_session(p, hostile_id);
    BOOST_CHECK_EQUAL(hs->kill_reason(), "egress_denied");
    auto audit = engine->get_audit(p, hostile_id);
    bool denied = false;
    for (const auto& e : audit->events())
      denied |= e.type() == "egress_denied" &&
                e.data().fields().at("host").string_value() == "169.254.169.254";
    BOOST_CHECK(denied);
    BOOST_REQUIRE(wait_until([&] {
      auto l = engine->list_sessions(p, {fleet_id, "", 1000, ""});
      for (const auto& s : l->sessions())
        if (!s.torn_down()) return false;
      return true;
    }));
  }
  // From the log alone: never more than 3 admitted-and-not-torn-down, grants in ticket order,
  // tickets in member-index order.
  auto events = all_events(dir.path());
  int active = 0, peak = 0;
  std::map<std::string, uint32_t> index_of;
  std::set<std::string> admitted;  // only sessions that held a slot free one
  std::vector<std::pair<uint64_t, uint64_t>> grant_ticket;  // grant → ticket
  std::map<uint64_t, uint32_t> ticket_index;
  std::map<std::string, uint64_t> ticket_of;
  for (const auto& s : events) {
    const auto& e = s.envelope;
    if (e.has_session_created()) index_of[e.stream()] = e.session_created().spec().fleet_index();
    if (e.has_session_queued()) ticket_of[e.stream()] = e.session_queued().ticket();
    if (e.has_session_admitted()) {
      admitted.insert(e.stream());
      peak = std::max(peak, ++active);
      grant_ticket.emplace_back(e.session_admitted().grant(), e.session_admitted().ticket());
      ticket_index[e.session_admitted().ticket()] = index_of[e.stream()];
    }
    if (e.has_session_torn_down() && admitted.count(e.stream())) --active;
  }
  BOOST_CHECK_EQUAL(peak, 3);  // the ceiling is reached and never exceeded
  BOOST_CHECK_EQUAL(grant_ticket.size(), 101u);
  std::sort(grant_ticket.begin(), grant_ticket.end());
  for (size_t i = 1; i < grant_ticket.size(); ++i)
    BOOST_CHECK_LT(grant_ticket[i - 1].second, grant_ticket[i].second);  // FIFO
  uint32_t last_index = 0;
  bool first = true;
  for (const auto& [ticket, index] : ticket_index) {  // tickets follow member index
    if (!first) BOOST_CHECK_GT(index, last_index);
    last_index = index;
    first = false;
  }
  BOOST_CHECK_GE(ticket_of.size(), 90u);  // most had to wait, and said so
}

// The fleet stream: the whole fleet once, then deltas of changed members only; merging them gives
// exactly the folded fleet, and the stream ends once the phase is final. The audit trail's chain
// status verifies.
BOOST_AUTO_TEST_CASE(fleet_stream_deltas_merge_to_the_fold_and_end) {
  TempDir dir;
  const Principal p = default_principal();
  auto engine = open_engine(dir.path(), 2, {}, {.tick_ms = 3});
  api::CreateFleetRequest req;
  for (int i = 0; i < 6; ++i) *req.add_members() = batch("#@sim sleep_ms=10\n");
  auto hostile = batch("#@sim egress=169.254.169.254:80\n#@sim hang\n");
  hostile.mutable_egress()->set_kill_on_denied(true);
  *req.add_members() = hostile;
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, req, cb); });
  BOOST_REQUIRE(f.ok());

  std::mutex mu;
  std::vector<StreamItem> items;
  auto sub = engine->subscribe_fleet(p, f->id(), [&](const StreamItem& item) {
    std::lock_guard lock(mu);
    items.push_back(item);
  });
  BOOST_REQUIRE(sub.ok());
  BOOST_REQUIRE(wait_until([&] {
    std::lock_guard lock(mu);
    return !items.empty() && items.back().kind == StreamItem::Kind::kEnd;
  }));
  engine->unsubscribe(*sub);
  std::lock_guard lock(mu);
  BOOST_REQUIRE(items.front().kind == StreamItem::Kind::kFleet);
  BOOST_CHECK(!items.front().fleet_delta);
  BOOST_CHECK_EQUAL(items.front().fleet.members_size(), 7);
  std::map<uint32_t, std::string> merged;
  for (const auto& m : items.front().fleet.members()) merged[m.index()] = m.phase();
  std::string last_phase;
  size_t ends = 0, deltas = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    if (items[i].kind == StreamItem::Kind::kEnd) {
      ++ends;
      continue;
    }
    BOOST_CHECK(items[i].fleet_delta);
    BOOST_CHECK_LT(items[i].fleet.members_size(), 7);  // only what changed
    ++deltas;
    for (const auto& m : items[i].fleet.members()) merged[m.index()] = m.phase();
    last_phase = items[i].fleet.phase();
  }
  BOOST_CHECK_EQUAL(ends, 1u);
  BOOST_CHECK_GT(deltas, 0u);
  auto folded = engine->get_fleet(p, f->id());
  BOOST_CHECK_EQUAL(last_phase, folded->phase());
  BOOST_CHECK_EQUAL(folded->phase(), "partial");
  for (const auto& m : folded->members()) BOOST_CHECK_EQUAL(merged[m.index()], m.phase());

  // Subscribing to a final fleet: the fleet, then the end at once.
  std::vector<StreamItem> late;
  auto sub2 =
      engine->subscribe_fleet(p, f->id(), [&](const StreamItem& item) { late.push_back(item); });
  BOOST_REQUIRE(sub2.ok());
  engine->unsubscribe(*sub2);
  BOOST_REQUIRE_EQUAL(late.size(), 2u);
  BOOST_CHECK(late[1].kind == StreamItem::Kind::kEnd);
  // Another org: not found, exactly like a missing id.
  Principal other = p;
  other.org_id = "other";
  auto hidden = engine->subscribe_fleet(other, f->id(), [](const StreamItem&) {});
  BOOST_CHECK(!hidden.ok() && hidden.error().code == ErrorCode::kNotFound);

  auto audit = engine->get_audit(p, folded->members(6).session_id());
  BOOST_REQUIRE(audit.ok());
  BOOST_CHECK(audit->chain().verified());
  BOOST_CHECK_EQUAL(audit->chain().events(), static_cast<uint32_t>(audit->events_size()));
  BOOST_CHECK_EQUAL(audit->chain().head_hash(), audit->events(audit->events_size() - 1).hash());
}

BOOST_AUTO_TEST_CASE(queued_sessions_record_queue_depth_and_ceiling) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 1, {}, {.tick_ms = 5});
  const Principal p = default_principal();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto s = call<api::Session>([&](auto cb) { engine->create_session(p, batch("print(1)"), cb); });
    BOOST_REQUIRE(s.ok());
    BOOST_CHECK_EQUAL(s->org_id(), "default");
    ids.push_back(s->id());
  }
  BOOST_REQUIRE(wait_until([&] {
    for (auto& id : ids)
      if (!engine->get_session(p, id)->torn_down()) return false;
    return true;
  }));
  auto audit = engine->get_audit(p, ids[2]);
  bool saw = false;
  for (const auto& e : audit->events())
    if (e.type() == "session_queued") {
      saw = true;
      BOOST_CHECK_EQUAL(e.data().fields().at("maxConcurrency").number_value(), 1);
      BOOST_CHECK_GE(e.data().fields().at("queued").number_value(), 1);
    }
  BOOST_CHECK(saw);
  for (const auto& e : audit->events()) BOOST_CHECK_EQUAL(e.hash().size(), 64u);
}

BOOST_AUTO_TEST_CASE(teardown_of_a_queued_fleet_ends_every_member) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 1);
  const Principal p = default_principal();
  api::CreateFleetRequest req;
  for (int i = 0; i < 10; ++i) *req.add_members() = batch("#@sim hang\n");
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(p, req, cb); });
  BOOST_REQUIRE(f.ok());
  auto t = call<api::Fleet>([&](auto cb) { engine->teardown_fleet(p, f->id(), cb); });
  BOOST_REQUIRE(t.ok());
  BOOST_REQUIRE(wait_until([&] { return fleet_done(*engine, p, f->id()); }));
  auto done = engine->get_fleet(p, f->id());
  BOOST_CHECK_EQUAL(done->phase(), "failed");
  BOOST_CHECK_EQUAL(done->counts().killed(), 10u);
  for (const auto& m : done->members())
    BOOST_CHECK_EQUAL(engine->get_session(p, m.session_id())->kill_reason(), "torn_down");
}

BOOST_AUTO_TEST_CASE(batch_wall_clock_kills_a_hanging_workload) {
  TempDir dir;
  ManualClock clock;
  EngineConfig cfg;
  cfg.clock = clock.clock();
  cfg.reaper_tick_ms = 0;
  auto engine = open_engine(dir.path(), 2, cfg);
  const Principal p = default_principal();
  auto req = batch("#@sim hang\n");
  req.mutable_limits()->set_wall_clock_seconds(2);
  auto s = call<api::Session>([&](auto cb) { engine->create_session(p, req, cb); });
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, s->id())->phase() == "running"; }));
  clock.advance(1999);
  engine->reap_now();
  clock.advance(1);
  // The session's deadline reaches the reaper from its actor, which can come after a tick sent
  // from here (the read model may already show it running): tick until the bound has acted.
  BOOST_REQUIRE(wait_until([&] {
    engine->reap_now();
    return engine->get_session(p, s->id())->torn_down();
  }));
  auto v = engine->get_session(p, s->id());
  BOOST_CHECK_EQUAL(v->phase(), "killed");
  BOOST_CHECK_EQUAL(v->kill_reason(), "wall_clock_exceeded");
  // killed exactly at its limit on the injected clock
  BOOST_CHECK_EQUAL(v->started_at(), rfc3339(1'700'000'000'000));
  BOOST_CHECK_EQUAL(v->ended_at(), rfc3339(1'700'000'002'000));
}

BOOST_AUTO_TEST_SUITE_END()
