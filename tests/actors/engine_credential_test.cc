// The control plane holds a credential per live session; it appears in no API answer and no
// audit record, and it is dropped when the session is torn down.
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include "events/crypto/credential.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

BOOST_AUTO_TEST_SUITE(engine_credentials)

BOOST_AUTO_TEST_CASE(held_never_shown_dropped_at_teardown) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 2);
  const Principal p = default_principal();
  auto s = call<api::Session>([&](auto cb) { engine->create_session(p, batch("#@sim hang"), cb); });
  BOOST_REQUIRE(s.ok());
  BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, s->id())->phase() == "running"; }));
  auto token = engine->session_credential(s->id());
  BOOST_REQUIRE(token);
  auto claims = credential::verify(engine->credential_secret(), *token, system_clock()());
  BOOST_REQUIRE(claims);
  BOOST_CHECK_EQUAL(claims->session_id, s->id());
  BOOST_CHECK_EQUAL(claims->org_id, "default");

  BOOST_REQUIRE(
      call<api::Session>([&](auto cb) { engine->teardown_session(p, s->id(), cb); }).ok());
  BOOST_REQUIRE(wait_until([&] { return engine->get_session(p, s->id())->torn_down(); }));
  BOOST_CHECK(!engine->session_credential(s->id()));
  std::string all, json;
  auto v = engine->get_session(p, s->id());
  auto r = engine->get_result(p, s->id());
  auto a = engine->get_audit(p, s->id());
  auto l = engine->list_sessions(p, {});
  const google::protobuf::Message* answers[] = {&*v, &*r, &*a, &*l};
  for (const auto* m : answers) {
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(*m, &json);
    all += json;
  }
  BOOST_CHECK(all.find(*token) == std::string::npos);
  BOOST_CHECK(all.find("eyJ") == std::string::npos);
  // nor in the stored log itself
  engine.reset();
  for (const auto& e : all_events(dir.path())) {
    std::string bytes;
    e.envelope.SerializeToString(&bytes);
    BOOST_CHECK(bytes.find(*token) == std::string::npos);
    BOOST_CHECK(bytes.find("eyJ") == std::string::npos);
  }
  struct stat st {};
  BOOST_REQUIRE_EQUAL(stat((dir.path() + "/cred_secret").c_str(), &st), 0);
  BOOST_CHECK_EQUAL(st.st_mode & 0777, 0600u);
}

BOOST_AUTO_TEST_SUITE_END()
