// Secrets administered online (actors/secret_service.h, issue 26): scope admin and tenancy, a
// session may name only its own org's secrets for hosts it allows, and the value appears in no
// answer, audit event, view, and nowhere in the data dir's bytes (sealed at rest).
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "actors/key_admin.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

namespace {

const std::string kValue = "s3cr3t-Q7vX9-engine-test";

api::CreateSecretRequest secret_request(const std::string& name, const std::string& host) {
  api::CreateSecretRequest r;
  r.set_name(name);
  r.set_value(kValue);
  r.add_hosts(host);
  return r;
}

api::CreateSessionRequest with_secret(const std::string& name, const std::string& allow) {
  auto r = batch("print(1)");
  r.mutable_egress()->set_mode("allow_list");
  r.mutable_egress()->add_allow(allow);
  r.add_secrets(name);
  return r;
}

std::string json_of(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

// Whether any file under `dir` holds `needle` (the raw bytes RocksDB wrote).
bool dir_contains(const std::string& dir, const std::string& needle) {
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_secrets)

BOOST_AUTO_TEST_CASE(secrets_are_per_org_admin_only_and_never_shown) {
  TempDir dir;
  auto ka = keys::create(dir.path(), "acme", "owner");
  auto km = keys::create(dir.path(), "acme", "member");
  auto kb = keys::create(dir.path(), "globex", "owner");
  BOOST_REQUIRE(ka.ok() && km.ok() && kb.ok());
  EngineConfig cfg;
  cfg.egress.permit = {*egress::parse_cidr("127.0.0.2/32")};
  {
    auto engine = open_engine(dir.path(), 4, cfg);
    auto a = engine->authenticate(*ka), m = engine->authenticate(*km),
         b = engine->authenticate(*kb);
    BOOST_REQUIRE(a && m && b);

    auto refused = call<api::Secret>(
        [&](auto cb) { engine->set_secret(*m, secret_request("svc", "127.0.0.2:8443"), cb); });
    BOOST_REQUIRE(!refused.ok());
    BOOST_CHECK(refused.error().code == ErrorCode::kPermissionDenied);

    auto s = call<api::Secret>(
        [&](auto cb) { engine->set_secret(*a, secret_request("svc", "127.0.0.2:8443"), cb); });
    BOOST_REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    BOOST_CHECK_EQUAL(s->name(), "svc");
    BOOST_CHECK_EQUAL(s->header(), "Authorization");
    BOOST_CHECK(json_of(*s).find(kValue) == std::string::npos);

    auto la = engine->list_secrets(*a);
    BOOST_REQUIRE(la.ok());
    BOOST_REQUIRE_EQUAL(la->secrets_size(), 1);
    BOOST_CHECK(json_of(*la).find(kValue) == std::string::npos);
    auto lb = engine->list_secrets(*b);
    BOOST_REQUIRE(lb.ok());
    BOOST_CHECK_EQUAL(lb->secrets_size(), 0);  // another org sees nothing
    BOOST_CHECK(!engine->list_secrets(*m).ok());

    // Another org cannot name it (400 as for a name that does not exist), nor delete it (404).
    auto foreign = call<api::Session>(
        [&](auto cb) { engine->create_session(*b, with_secret("svc", "127.0.0.2:8443"), cb); });
    BOOST_REQUIRE(!foreign.ok());
    BOOST_CHECK_EQUAL(foreign.error().reason, "unknown_secret");
    BOOST_CHECK_EQUAL(foreign.error().field, "secrets[0]");
    auto gone = call<api::Secret>([&](auto cb) { engine->delete_secret(*b, "svc", cb); });
    BOOST_REQUIRE(!gone.ok());
    BOOST_CHECK(gone.error().code == ErrorCode::kNotFound);

    // Its host must be on the allow-list.
    auto off = call<api::Session>(
        [&](auto cb) { engine->create_session(*a, with_secret("svc", "127.0.0.2:9999"), cb); });
    BOOST_REQUIRE(!off.ok());
    BOOST_CHECK_EQUAL(off.error().reason, "secret_host_not_allowed");

    auto ok = call<api::Session>(
        [&](auto cb) { engine->create_session(*a, with_secret("svc", "127.0.0.2:8443"), cb); });
    BOOST_REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.error().message));
    BOOST_REQUIRE_EQUAL(ok->secrets_size(), 1);
    BOOST_CHECK_EQUAL(ok->secrets(0), "svc");
    BOOST_REQUIRE(wait_until([&] {
      auto v = engine->get_session(*a, ok->id());
      return v.ok() && v->torn_down();
    }));
    auto audit = engine->get_audit(*a, ok->id());
    BOOST_REQUIRE(audit.ok());
    BOOST_CHECK(json_of(*audit).find(kValue) == std::string::npos);
    BOOST_CHECK(json_of(*engine->get_session(*a, ok->id())).find(kValue) == std::string::npos);
    BOOST_CHECK(engine->metrics_text().find(kValue) == std::string::npos);
  }
  // Sealed at rest: not one stored byte holds the value; it survives a restart.
  BOOST_CHECK(!dir_contains(dir.path(), kValue));
  {
    auto engine = open_engine(dir.path(), 4, cfg);
    auto a = engine->authenticate(*ka);
    BOOST_REQUIRE(a);
    auto la = engine->list_secrets(*a);
    BOOST_REQUIRE(la.ok());
    BOOST_REQUIRE_EQUAL(la->secrets_size(), 1);
    auto d = call<api::Secret>([&](auto cb) { engine->delete_secret(*a, "svc", cb); });
    BOOST_REQUIRE(d.ok());
    BOOST_CHECK_EQUAL(engine->list_secrets(*a)->secrets_size(), 0);
    auto after = call<api::Session>(
        [&](auto cb) { engine->create_session(*a, with_secret("svc", "127.0.0.2:8443"), cb); });
    BOOST_REQUIRE(!after.ok());
    BOOST_CHECK_EQUAL(after.error().reason, "unknown_secret");
  }
}

BOOST_AUTO_TEST_SUITE_END()
