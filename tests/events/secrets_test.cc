// Secrets, the pure parts (issue 26): create checks, the fold, session checks, sealing at rest
// (AES-256-GCM bound to org and name) and the rate limit of secret_used.
#include "events/secrets.h"

#include <boost/test/unit_test.hpp>

#include "events/crypto/secret_crypto.h"
#include "events/policy/secret_use_limiter.h"
#include "events/requests/session_request.h"

using namespace enclave;

namespace {

api::CreateSecretRequest req(const std::string& name, const std::string& value,
                             std::vector<std::string> hosts, const std::string& header = "",
                             const std::string& format = "") {
  api::CreateSecretRequest r;
  r.set_name(name);
  r.set_value(value);
  for (auto& h : hosts) r.add_hosts(h);
  r.set_header(header);
  r.set_format(format);
  return r;
}

events::Envelope set_event(const std::string& org, const std::string& name,
                           std::vector<std::string> hosts, uint64_t seq) {
  events::Envelope e;
  e.set_seq(seq);
  auto* s = e.mutable_secret_set();
  s->set_org_id(org);
  s->set_name(name);
  for (auto& h : hosts) s->add_hosts(h);
  s->set_header("Authorization");
  s->set_format("Bearer {value}");
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secrets_pure)

BOOST_AUTO_TEST_CASE(create_requests_are_checked_field_by_field_without_quoting_the_value) {
  struct Row {
    api::CreateSecretRequest r;
    std::string field;  // "" = accepted
  };
  const std::string secret = "s3cr3t-value";
  const std::vector<Row> rows = {
      {req("svc", secret, {"api.example.com:443"}), ""},
      {req("a.b-c_9", secret, {"[::1]:8443", "127.0.0.2:8443"}, "X-Api-Key", "{value}"), ""},
      {req("", secret, {"h:1"}), "name"},
      {req("bad/name", secret, {"h:1"}), "name"},
      {req(std::string(65, 'n'), secret, {"h:1"}), "name"},
      {req("svc", "", {"h:1"}), "value"},
      {req("svc", "line\r\nInjected: 1", {"h:1"}), "value"},
      {req("svc", std::string(8193, 'v'), {"h:1"}), "value"},
      {req("svc", secret, {}), "hosts"},
      {req("svc", secret, {"no-port"}), "hosts[0]"},
      {req("svc", secret, {"h:1", "h:0"}), "hosts[1]"},
      {req("svc", secret, {"h:1"}, "Bad Header"), "header"},
      {req("svc", secret, {"h:1"}, "Host"), "header"},
      {req("svc", secret, {"h:1"}, "transfer-encoding"), "header"},
      {req("svc", secret, {"h:1"}, "", "no slot"), "format"},
      {req("svc", secret, {"h:1"}, "", "Bearer {value}\n"), "format"},
  };
  for (const auto& row : rows) {
    auto c = secrets::check_create(row.r);
    if (row.field.empty()) {
      BOOST_CHECK_MESSAGE(c.ok(), row.r.name() << ": " << (c.ok() ? "" : c.error().message));
    } else {
      BOOST_REQUIRE_MESSAGE(!c.ok(), "accepted: " << row.field);
      BOOST_CHECK_EQUAL(c.error().field, row.field);
      BOOST_CHECK(c.error().message.find(secret) == std::string::npos);
    }
  }
  auto c = secrets::check_create(req("svc", secret, {"API.Example.com:443", "[::FFFF:7f00:2]:80"}));
  BOOST_REQUIRE(c.ok());
  BOOST_CHECK_EQUAL(c->header, "Authorization");
  BOOST_CHECK_EQUAL(c->format, "Bearer {value}");
  BOOST_REQUIRE_EQUAL(c->hosts.size(), 2u);
  BOOST_CHECK_EQUAL(c->hosts[0], "api.example.com:443");
  BOOST_CHECK_EQUAL(c->hosts[1], "127.0.0.2:80");
}

BOOST_AUTO_TEST_CASE(render_replaces_every_slot) {
  BOOST_CHECK_EQUAL(secrets::render("Bearer {value}", "k"), "Bearer k");
  BOOST_CHECK_EQUAL(secrets::render("{value}:{value}", "k"), "k:k");
  BOOST_CHECK_EQUAL(secrets::render("token {valu", "k"), "token {valu");
}

BOOST_AUTO_TEST_CASE(the_fold_keeps_orgs_apart_and_the_last_set_wins) {
  secrets::State s;
  s = secrets::apply(std::move(s), set_event("acme", "svc", {"a:1"}, 1));
  s = secrets::apply(std::move(s), set_event("globex", "svc", {"b:2"}, 2));
  s = secrets::apply(std::move(s), set_event("acme", "svc", {"c:3"}, 3));
  BOOST_CHECK_EQUAL(s.last_seq, 3u);
  BOOST_REQUIRE(secrets::find(s, "acme", "svc"));
  BOOST_CHECK_EQUAL(secrets::find(s, "acme", "svc")->hosts.at(0), "c:3");
  BOOST_CHECK_EQUAL(secrets::of_org(s, "acme").size(), 1u);
  BOOST_CHECK(!secrets::find(s, "initech", "svc"));
  events::Envelope del;
  del.set_seq(4);
  del.mutable_secret_deleted()->set_org_id("acme");
  del.mutable_secret_deleted()->set_name("svc");
  s = secrets::apply(std::move(s), del);
  BOOST_CHECK(!secrets::find(s, "acme", "svc"));
  BOOST_CHECK(secrets::find(s, "globex", "svc"));
}

BOOST_AUTO_TEST_CASE(a_session_names_existing_secrets_whose_hosts_it_allows) {
  secrets::State st;
  st = secrets::apply(std::move(st), set_event("acme", "svc", {"127.0.0.2:8443"}, 1));
  auto lookup = [&](const std::string& org) {
    return [&st, org](const std::string& n) { return secrets::find(st, org, n); };
  };
  api::CreateSessionRequest r;
  r.set_code("print(1)");
  r.mutable_egress()->set_mode("allow_list");
  r.mutable_egress()->add_allow("127.0.0.2:8443");
  r.add_secrets("svc");
  RequestBounds b;
  b.egress.permit = {*egress::parse_cidr("127.0.0.2/32")};
  auto spec = validate_session_request(r, b);
  BOOST_REQUIRE(spec.ok());
  BOOST_CHECK(!secrets::check_session(*spec, lookup("acme"), ""));
  // Another org cannot name it: exactly like a name that does not exist.
  auto other = secrets::check_session(*spec, lookup("globex"), "");
  BOOST_REQUIRE(other);
  BOOST_CHECK_EQUAL(other->reason, "unknown_secret");
  BOOST_CHECK_EQUAL(other->field, "secrets[0]");
  // Its host must be on the allow-list.
  r.mutable_egress()->set_allow(0, "127.0.0.2:9999");
  spec = validate_session_request(r, b);
  BOOST_REQUIRE(spec.ok());
  auto off = secrets::check_session(*spec, lookup("acme"), "members[2].");
  BOOST_REQUIRE(off);
  BOOST_CHECK_EQUAL(off->reason, "secret_host_not_allowed");
  BOOST_CHECK_EQUAL(off->field, "members[2].secrets[0]");
  // Shape: deny_all, bad names, repeats.
  api::CreateSessionRequest d;
  d.set_code("print(1)");
  d.add_secrets("svc");
  auto deny = validate_session_request(d);
  BOOST_REQUIRE(!deny.ok());
  BOOST_CHECK_EQUAL(deny.error().field, "secrets");
  r.mutable_egress()->set_allow(0, "127.0.0.2:8443");
  r.add_secrets("svc");
  auto twice = validate_session_request(r, b);
  BOOST_REQUIRE(!twice.ok());
  BOOST_CHECK_EQUAL(twice.error().field, "secrets[1]");
  r.set_secrets(1, "no/slash");
  auto bad = validate_session_request(r, b);
  BOOST_REQUIRE(!bad.ok());
  BOOST_CHECK_EQUAL(bad.error().field, "secrets[1]");
}

BOOST_AUTO_TEST_CASE(sealed_values_open_only_with_their_key_org_and_name) {
  const std::string key = secrets::derive_key("cred-secret-1");
  BOOST_CHECK_EQUAL(key.size(), 32u);
  BOOST_CHECK(key != secrets::derive_key("cred-secret-2"));
  auto s = secrets::seal(key, "acme", "svc", "s3cr3t");
  BOOST_REQUIRE(s.ok());
  BOOST_CHECK(s->sealed.find("s3cr3t") == std::string::npos);
  BOOST_CHECK_EQUAL(secrets::open(key, "acme", "svc", s->nonce, s->sealed).value_or(""), "s3cr3t");
  BOOST_CHECK(!secrets::open(key, "globex", "svc", s->nonce, s->sealed));  // moved to another org
  BOOST_CHECK(!secrets::open(key, "acme", "other", s->nonce, s->sealed));  // or another name
  BOOST_CHECK(!secrets::open(secrets::derive_key("x"), "acme", "svc", s->nonce, s->sealed));
  auto flipped = s->sealed;
  flipped[0] ^= 1;
  BOOST_CHECK(!secrets::open(key, "acme", "svc", s->nonce, flipped));
  BOOST_CHECK(!secrets::open(key, "acme", "svc", "short", s->sealed));
  BOOST_CHECK(!secrets::open(key, "acme", "svc", s->nonce, ""));
  auto again = secrets::seal(key, "acme", "svc", "s3cr3t");
  BOOST_REQUIRE(again.ok());
  BOOST_CHECK(again->nonce != s->nonce);  // a fresh nonce every time
}

BOOST_AUTO_TEST_CASE(secret_used_is_at_most_one_event_per_secret_host_and_second) {
  secrets::UseLimiter l;
  auto use = [](const std::string& name, const std::string& host, const std::string& path) {
    return secrets::Use{name, host, 443, "GET", path, 1};
  };
  auto first = l.use(use("svc", "a", "/1"), 10'000);
  BOOST_REQUIRE(first);
  BOOST_CHECK_EQUAL(first->count, 1u);
  for (int i = 0; i < 5; ++i) BOOST_CHECK(!l.use(use("svc", "a", "/x"), 10'100 + i));
  BOOST_CHECK(l.use(use("svc", "b", "/1"), 10'200));    // another host: its own budget
  BOOST_CHECK(l.use(use("other", "a", "/1"), 10'200));  // another secret too
  auto next = l.use(use("svc", "a", "/2"), 11'000);     // a second later: the held ones ride along
  BOOST_REQUIRE(next);
  BOOST_CHECK_EQUAL(next->count, 6u);
  BOOST_CHECK_EQUAL(next->path, "/2");
  BOOST_CHECK(!l.use(use("svc", "a", "/3"), 11'500));
  BOOST_CHECK(!l.use(use("svc", "a", "/4"), 11'600));
  auto rest = l.flush();
  BOOST_REQUIRE_EQUAL(rest.size(), 1u);
  BOOST_CHECK_EQUAL(rest[0].count, 2u);
  BOOST_CHECK_EQUAL(rest[0].path, "/4");
  BOOST_CHECK(l.flush().empty());
}

BOOST_AUTO_TEST_SUITE_END()
