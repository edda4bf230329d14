// Fair admission at the engine (simulator): one org's big fleet does not starve another org's
// session; max_queued refuses creates with 429; settings and each org's FIFO survive a restart.
#include <boost/test/unit_test.hpp>

#include "actors/org_admin.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_fair_admission)

namespace {

Principal owner_of(const std::string& org) {
  return Principal{"key:test-" + org, org, "owner", scopes_for_role("owner")};
}

// The data of the first audit event of `type`, or nullptr.
std::optional<google::protobuf::Struct> audit_data(Engine& e, const Principal& p,
                                                   const std::string& id, const std::string& type) {
  auto a = e.get_audit(p, id);
  if (!a.ok()) return std::nullopt;
  for (const auto& ev : a->events())
    if (ev.type() == type) return ev.data();
  return std::nullopt;
}

double field(const google::protobuf::Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? -1 : it->second.number_value();
}

size_t count_phase(Engine& e, const Principal& p, const std::string& fleet,
                   const std::string& phase) {
  size_t n = 0;
  ListQuery q;
  q.fleet_id = fleet;
  q.phase = phase;
  q.limit = 1000;
  for (;;) {
    auto page = e.list_sessions(p, q);
    if (!page.ok()) return 0;
    n += page->sessions_size();
    if (page->next_cursor().empty()) return n;
    q.cursor = page->next_cursor();
  }
}

std::string first_in_phase(Engine& e, const Principal& p, const std::string& fleet,
                           const std::string& phase) {
  ListQuery q;
  q.fleet_id = fleet;
  q.phase = phase;
  q.limit = 1000;
  for (;;) {
    auto page = e.list_sessions(p, q);
    if (!page.ok()) return {};
    for (const auto& s : page->sessions())
      if (!s.torn_down()) return s.id();
    if (page->next_cursor().empty()) return {};
    q.cursor = page->next_cursor();
  }
}

api::CreateFleetRequest hanging_fleet(int n) {
  api::CreateFleetRequest req;
  for (int i = 0; i < n; ++i) *req.add_members() = batch("#@sim hang\n");
  return req;
}

}  // namespace

// The "Done when": org A's 500-member fleet at ceiling 2, then one session of org B —
// B's session is admitted within the next two slot releases.
BOOST_AUTO_TEST_CASE(a_500_member_fleet_does_not_starve_another_orgs_session) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 2);
  const auto a = owner_of("orga"), b = owner_of("orgb");
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(a, hanging_fleet(500), cb); });
  BOOST_REQUIRE(f.ok());
  BOOST_REQUIRE(wait_until([&] { return count_phase(*engine, a, f->id(), "running") == 2; }));
  auto s =
      call<api::Session>([&](auto cb) { engine->create_session(b, batch("#@sim hang\n"), cb); });
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(
      wait_until([&] { return audit_data(*engine, b, s->id(), "session_queued").has_value(); }));
  auto q = *audit_data(*engine, b, s->id(), "session_queued");
  BOOST_CHECK_EQUAL(field(q, "orgQueued"), 1);  // first in its own org's FIFO
  BOOST_CHECK_EQUAL(field(q, "queued"), 499);   // behind 498 of A's globally

  auto b_admitted = [&] { return engine->get_session(b, s->id())->phase() != "queued"; };
  int releases = 0;
  while (!b_admitted() && releases < 3) {
    auto victim = first_in_phase(*engine, a, f->id(), "running");
    BOOST_REQUIRE(!victim.empty());
    auto t = call<api::Session>([&](auto cb) { engine->teardown_session(a, victim, cb); });
    BOOST_REQUIRE(t.ok());
    ++releases;
    // The slot is given back when the session is torn down: then the next one is granted.
    BOOST_REQUIRE(wait_until([&] {
      return b_admitted() || count_phase(*engine, a, f->id(), "queued") == 498u - releases;
    }));
  }
  BOOST_CHECK(b_admitted());
  BOOST_CHECK_LE(releases, 2);
  auto adm = audit_data(*engine, b, s->id(), "session_admitted");
  BOOST_REQUIRE(adm);
  BOOST_CHECK_LE(field(*adm, "grant"), 4);  // grants 1, 2 were A's first two
  // A's members still go in index (= ticket) order: the last member is still queued, and its
  // recorded place in its org is behind all the others.
  auto last = engine->get_fleet(a, f->id())->members(499).session_id();
  BOOST_CHECK_EQUAL(engine->get_session(a, last)->phase(), "queued");
  auto lq = audit_data(*engine, a, last, "session_queued");
  BOOST_REQUIRE(lq);
  BOOST_CHECK_EQUAL(field(*lq, "orgQueued"), 498);
  BOOST_REQUIRE(call<api::Fleet>([&](auto cb) { engine->teardown_fleet(a, f->id(), cb); }).ok());
  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(b, s->id(), cb); }).ok());
  BOOST_CHECK(wait_until([&] { return fleet_done(*engine, a, f->id()); }));
}

BOOST_AUTO_TEST_CASE(max_queued_refuses_creates_with_429_naming_the_limit) {
  TempDir dir;
  BOOST_REQUIRE(orgs::set(dir.path(), "orga", std::nullopt, 3, std::nullopt).ok());
  auto engine = open_engine(dir.path(), 1);
  const auto a = owner_of("orga"), b = owner_of("orgb");
  auto is_quota = [](const auto& r) {
    return !r.ok() && r.error().code == ErrorCode::kQuotaExceeded &&
           r.error().reason == "quota_exceeded" && r.error().field == "maxQueued";
  };
  // A fleet larger than the limit is refused whole, before anything is recorded.
  auto big = call<api::Fleet>([&](auto cb) { engine->create_fleet(a, hanging_fleet(4), cb); });
  BOOST_CHECK(is_quota(big));
  BOOST_CHECK_EQUAL(engine->list_fleets(a)->fleets_size(), 0);
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(a, hanging_fleet(3), cb); });
  BOOST_REQUIRE(f.ok());
  // One member takes the only slot; two stay queued, so one more session fits, then no more.
  BOOST_REQUIRE(wait_until([&] { return count_phase(*engine, a, f->id(), "queued") == 2; }));
  auto s1 = call<api::Session>([&](auto cb) { engine->create_session(a, batch("print(1)"), cb); });
  BOOST_REQUIRE(s1.ok());
  auto s2 = call<api::Session>([&](auto cb) { engine->create_session(a, batch("print(1)"), cb); });
  BOOST_CHECK(is_quota(s2));
  // Another org has no such limit.
  auto other =
      call<api::Session>([&](auto cb) { engine->create_session(b, batch("print(1)"), cb); });
  BOOST_CHECK(other.ok());
  // A queued session that ends gives its room back.
  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(a, s1->id(), cb); }).ok());
  auto s3 = call<api::Session>([&](auto cb) { engine->create_session(a, batch("print(1)"), cb); });
  BOOST_CHECK(s3.ok());
  BOOST_REQUIRE(call<api::Fleet>([&](auto cb) { engine->teardown_fleet(a, f->id(), cb); }).ok());
}

BOOST_AUTO_TEST_CASE(settings_and_each_orgs_fifo_are_rebuilt_after_a_restart) {
  TempDir dir;
  BOOST_REQUIRE(orgs::set(dir.path(), "orga", 1, std::nullopt, 1).ok());  // max_live 1
  const auto a = owner_of("orga"), b = owner_of("orgb");
  std::string fleet, bs;
  {
    auto engine = open_engine(dir.path(), 2);
    auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(a, hanging_fleet(3), cb); });
    BOOST_REQUIRE(f.ok());
    fleet = f->id();
    // max_live 1: one of A's members runs although the ceiling is 2.
    BOOST_REQUIRE(wait_until([&] { return count_phase(*engine, a, fleet, "queued") == 2; }));
    auto s =
        call<api::Session>([&](auto cb) { engine->create_session(b, batch("#@sim hang\n"), cb); });
    BOOST_REQUIRE(s.ok());
    bs = s->id();
    BOOST_REQUIRE(wait_until([&] { return engine->get_session(b, bs)->phase() == "running"; }));
    BOOST_CHECK_EQUAL(count_phase(*engine, a, fleet, "queued"), 2u);
  }
  // The simulator loses its sandboxes with the process: the two running sessions end as
  // sandbox_error, freeing both slots. A's max_live 1 (from the log) admits only its next member,
  // in index order; B's new session takes the other slot.
  auto engine = open_engine(dir.path(), 2);
  auto members = engine->get_fleet(a, fleet)->members();
  auto phase = [&](const Principal& p, const std::string& id) {
    return engine->get_session(p, id)->phase();
  };
  BOOST_REQUIRE(wait_until([&] {
    return engine->get_session(b, bs)->torn_down() &&
           phase(a, members[1].session_id()) == "running";
  }));
  BOOST_CHECK_EQUAL(phase(a, members[0].session_id()), "killed");
  auto s2 =
      call<api::Session>([&](auto cb) { engine->create_session(b, batch("#@sim hang\n"), cb); });
  BOOST_REQUIRE(s2.ok());
  BOOST_REQUIRE(wait_until([&] { return phase(b, s2->id()) == "running"; }));
  BOOST_CHECK_EQUAL(phase(a, members[2].session_id()), "queued");
  BOOST_REQUIRE(call<api::Session>([&](auto cb) {
                  engine->teardown_session(a, members[1].session_id(), cb);
                }).ok());
  BOOST_CHECK(wait_until([&] { return phase(a, members[2].session_id()) == "running"; }));
  BOOST_REQUIRE(call<api::Fleet>([&](auto cb) { engine->teardown_fleet(a, fleet, cb); }).ok());
  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(b, s2->id(), cb); }).ok());
}

BOOST_AUTO_TEST_SUITE_END()
