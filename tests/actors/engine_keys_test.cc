// API keys administered online (actors/key_service.h): the same events as the offline tool,
// through the commit queue; a revoked key is refused from the moment its revoke answers; tenancy
// (another org's key id is not found, scope admin needed); secrets shown once, never listed.
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>
#include <mutex>
#include <thread>

#include "actors/key_admin.h"
#include "tests/support/engine_fixture.h"

using namespace enclave;
using namespace enclave::testing;

namespace {

api::CreateKeyRequest key_request(const std::string& role, const std::string& name = "") {
  api::CreateKeyRequest r;
  r.set_role(role);
  r.set_name(name);
  return r;
}

std::string json_of(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(engine_keys)

BOOST_AUTO_TEST_CASE(created_online_works_at_once_and_revoked_is_refused_at_once) {
  TempDir dir;
  auto ka = keys::create(dir.path(), "acme", "owner");
  auto kb = keys::create(dir.path(), "globex", "owner");
  BOOST_REQUIRE(ka.ok() && kb.ok());
  auto engine = open_engine(dir.path(), 4);
  auto a = engine->authenticate(*ka);
  auto b = engine->authenticate(*kb);
  BOOST_REQUIRE(a && b);

  auto k = call<api::CreatedApiKey>(
      [&](auto cb) { engine->create_key(*a, key_request("member", "ci"), cb); });
  BOOST_REQUIRE(k.ok());
  BOOST_CHECK_EQUAL(k->org_id(), "acme");
  BOOST_CHECK_EQUAL(k->role(), "member");
  BOOST_CHECK_EQUAL(k->name(), "ci");
  BOOST_CHECK_EQUAL(k->key().rfind("enc_", 0), 0u);
  auto m = engine->authenticate(k->key());
  BOOST_REQUIRE(m);  // usable the moment create answered
  BOOST_CHECK_EQUAL(m->org_id, "acme");
  BOOST_CHECK_EQUAL(m->user_id, "key:" + k->id());
  BOOST_CHECK(m->has("sessions:write") && !m->has("admin") && !m->has("metrics:read"));
  BOOST_CHECK(engine->principal_live(m->user_id));

  // Listing: own org only, never a secret.
  auto la = engine->list_keys(*a);
  BOOST_REQUIRE(la.ok());
  BOOST_CHECK_EQUAL(la->keys_size(), 2);
  std::string listed = json_of(*la);
  BOOST_CHECK(listed.find(k->id()) != std::string::npos);
  BOOST_CHECK(listed.find(k->key()) == std::string::npos);
  BOOST_CHECK(listed.find(*ka) == std::string::npos);
  BOOST_CHECK(listed.find("globex") == std::string::npos);
  auto lb = engine->list_keys(*b);
  BOOST_REQUIRE(lb.ok());
  BOOST_CHECK_EQUAL(lb->keys_size(), 1);

  // Another org's id is not found, exactly like a missing one; a member lacks admin.
  auto other = call<api::ApiKey>([&](auto cb) { engine->revoke_key(*b, k->id(), cb); });
  BOOST_CHECK(!other.ok() && other.error().code == ErrorCode::kNotFound);
  auto missing = call<api::ApiKey>([&](auto cb) { engine->revoke_key(*a, "00ff", cb); });
  BOOST_CHECK(!missing.ok() && missing.error().code == ErrorCode::kNotFound);
  BOOST_CHECK_EQUAL(other.error().message, missing.error().message);
  auto by_member =
      call<api::CreatedApiKey>([&](auto cb) { engine->create_key(*m, key_request("owner"), cb); });
  BOOST_CHECK(!by_member.ok() && by_member.error().code == ErrorCode::kPermissionDenied);
  BOOST_CHECK(!engine->list_keys(*m).ok());
  BOOST_CHECK(engine->authenticate(k->key()));

  auto r = call<api::ApiKey>([&](auto cb) { engine->revoke_key(*a, k->id(), cb); });
  BOOST_REQUIRE(r.ok());
  BOOST_CHECK(r->revoked());
  BOOST_CHECK(!engine->authenticate(k->key()));  // refused the moment revoke answered
  BOOST_CHECK(!engine->principal_live(m->user_id));
  auto again = call<api::ApiKey>([&](auto cb) { engine->revoke_key(*a, k->id(), cb); });
  BOOST_CHECK(again.ok() && again->revoked());       // idempotent
  BOOST_CHECK(engine->principal_live("anonymous"));  // not a key: auth disabled
}

BOOST_AUTO_TEST_CASE(bad_requests_name_the_field) {
  TempDir dir;
  auto engine = open_engine(dir.path(), 4);
  const Principal p = default_principal();
  struct Case {
    std::string role, name, field;
  };
  for (const auto& c : std::vector<Case>{{"", "", "role"},
                                         {"root", "", "role"},
                                         {"member", std::string(101, 'x'), "name"},
                                         {"member", "a\x1b[2Jb", "name"},
                                         {"member", "new\nline", "name"}}) {
    auto r = call<api::CreatedApiKey>(
        [&](auto cb) { engine->create_key(p, key_request(c.role, c.name), cb); });
    BOOST_CHECK_MESSAGE(
        !r.ok() && r.error().code == ErrorCode::kInvalidArgument && r.error().field == c.field,
        c.field);
  }
  auto metrics = call<api::CreatedApiKey>(
      [&](auto cb) { engine->create_key(p, key_request("metrics", "prometheus"), cb); });
  BOOST_REQUIRE(metrics.ok());
  auto mp = engine->authenticate(metrics->key());
  BOOST_REQUIRE(mp);
  BOOST_CHECK(mp->scopes == std::set<std::string>{"metrics:read"});
  api::CreateKeyRequest e2b = key_request("member");
  e2b.set_e2b(true);
  auto ek = call<api::CreatedApiKey>([&](auto cb) { engine->create_key(p, e2b, cb); });
  BOOST_REQUIRE(ek.ok());
  BOOST_CHECK_EQUAL(ek->key().size(), 44u);
  BOOST_CHECK_EQUAL(ek->key().rfind("e2b_", 0), 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_creates_and_revokes_all_land_and_survive_a_restart) {
  TempDir dir;
  std::vector<std::string> secrets;
  std::string revoked_secret;
  {
    auto engine = open_engine(dir.path(), 4);
    const Principal p = default_principal();
    // 16 creates at once: each appends at the keys stream's head, one at a time, none lost.
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&, i] {
        auto k = call<api::CreatedApiKey>([&](auto cb) {
          engine->create_key(p, key_request("viewer", "k" + std::to_string(i)), cb);
        });
        std::lock_guard lock(mu);
        if (k.ok()) secrets.push_back(k->key());
      });
    }
    for (auto& t : threads) t.join();
    BOOST_REQUIRE_EQUAL(secrets.size(), 16u);
    BOOST_CHECK_EQUAL(engine->list_keys(p)->keys_size(), 16);
    auto victim = engine->authenticate(secrets[3]);
    BOOST_REQUIRE(victim);
    auto r =
        call<api::ApiKey>([&](auto cb) { engine->revoke_key(p, victim->user_id.substr(4), cb); });
    BOOST_REQUIRE(r.ok());
    revoked_secret = secrets[3];
  }
  // The offline tool reads what the server wrote (server stopped: the bootstrap path).
  auto offline = keys::list(dir.path());
  BOOST_REQUIRE(offline.ok());
  BOOST_CHECK_EQUAL(offline->size(), 16u);
  size_t revoked = 0;
  for (const auto& k : *offline) revoked += k.revoked;
  BOOST_CHECK_EQUAL(revoked, 1u);
  auto engine = open_engine(dir.path(), 4);
  for (const auto& s : secrets) BOOST_CHECK_EQUAL(!!engine->authenticate(s), s != revoked_secret);
}

BOOST_AUTO_TEST_SUITE_END()
