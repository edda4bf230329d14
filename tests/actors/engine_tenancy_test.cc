// Tenancy at the engine: another org's ids are "not found" everywhere; scopes give 403 only
// for one's own resources; no credential-shaped text in any view.
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>

#include "actors/key_admin.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_tenancy)

BOOST_AUTO_TEST_CASE(other_orgs_get_not_found_everywhere) {
  TempDir dir;
  auto ka = keys::create(dir.path(), "acme", "owner");
  auto kb = keys::create(dir.path(), "globex", "owner");
  auto kv = keys::create(dir.path(), "acme", "viewer");
  BOOST_REQUIRE(ka.ok() && kb.ok() && kv.ok());
  auto engine = open_engine(dir.path(), 4);
  auto a = engine->authenticate(*ka);
  auto b = engine->authenticate(*kb);
  auto v = engine->authenticate(*kv);
  BOOST_REQUIRE(a && b && v);
  BOOST_CHECK(!engine->authenticate("enc_nope"));
  BOOST_CHECK_EQUAL(a->org_id, "acme");
  auto s =
      call<api::Session>([&](auto cb) { engine->create_session(*a, batch("#@sim hang"), cb); });
  BOOST_REQUIRE(s.ok());
  BOOST_CHECK_EQUAL(s->org_id(), "acme");
  BOOST_CHECK_EQUAL(s->created_by(), a->user_id);
  api::CreateFleetRequest fr;
  *fr.add_members() = batch("print(1)");
  auto f = call<api::Fleet>([&](auto cb) { engine->create_fleet(*a, fr, cb); });
  BOOST_REQUIRE(f.ok());

  auto nf = [](const auto& r) { return !r.ok() && r.error().code == ErrorCode::kNotFound; };
  BOOST_CHECK(nf(engine->get_session(*b, s->id())));
  BOOST_CHECK(nf(engine->get_result(*b, s->id())));
  BOOST_CHECK(nf(engine->get_audit(*b, s->id())));
  BOOST_CHECK(nf(engine->get_fleet(*b, f->id())));
  BOOST_CHECK(nf(engine->subscribe(*b, s->id(), [](const StreamItem&) {})));
  api::ExecRequest er;
  er.set_code("1");
  BOOST_CHECK(nf(call<api::ExecTurnResult>([&](auto cb) { engine->exec(*b, s->id(), er, cb); })));
  BOOST_CHECK(nf(call<api::Session>([&](auto cb) { engine->teardown_session(*b, s->id(), cb); })));
  BOOST_CHECK(nf(call<api::Fleet>([&](auto cb) { engine->teardown_fleet(*b, f->id(), cb); })));
  BOOST_CHECK_EQUAL(engine->list_sessions(*b, {})->sessions_size(), 0);
  BOOST_CHECK_EQUAL(engine->list_fleets(*b)->fleets_size(), 0);
  BOOST_CHECK_EQUAL(engine->list_sessions(*a, {})->sessions_size(), 2);

  // a viewer of acme may read but not write: 403 on its own org's resources
  BOOST_CHECK(engine->get_session(*v, s->id()).ok());
  auto w = call<api::Session>([&](auto cb) { engine->teardown_session(*v, s->id(), cb); });
  BOOST_REQUIRE(!w.ok());
  BOOST_CHECK(w.error().code == ErrorCode::kPermissionDenied);
  auto c = call<api::Session>([&](auto cb) { engine->create_session(*v, batch("1"), cb); });
  BOOST_CHECK(!c.ok() && c.error().code == ErrorCode::kPermissionDenied);

  auto t = call<api::Session>([&](auto cb) { engine->teardown_session(*a, s->id(), cb); });
  BOOST_REQUIRE(t.ok());
  std::string all, json;
  auto sv = engine->get_session(*a, s->id());
  auto av = engine->get_audit(*a, s->id());
  auto fv = engine->get_fleet(*a, f->id());
  const google::protobuf::Message* views[] = {&*sv, &*av, &*fv};
  for (const auto* m : views) {
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(*m, &json);
    all += json;
  }
  BOOST_CHECK(all.find("eyJ") == std::string::npos);
  BOOST_CHECK(all.find(*ka) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(pagination_walks_every_session_once) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 8);
  const Principal p = default_principal();
  for (int i = 0; i < 7; ++i)
    BOOST_REQUIRE(
        call<api::Session>([&](auto cb) { engine->create_session(p, batch("1"), cb); }).ok());
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = engine->list_sessions(p, {"", "", 3, cursor});
    BOOST_REQUIRE(page.ok());
    for (const auto& s : page->sessions()) BOOST_CHECK(seen.insert(s.id()).second);
    cursor = page->next_cursor();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  BOOST_CHECK_EQUAL(seen.size(), 7u);
  BOOST_CHECK_EQUAL(pages, 3);
  BOOST_CHECK(!engine->list_sessions(p, {"", "bogus", 3, ""}).ok());
  BOOST_CHECK(!engine->list_sessions(p, {"", "", 0, ""}).ok());
}

BOOST_AUTO_TEST_SUITE_END()
