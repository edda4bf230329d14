// Unit tests for the pure pieces of the HTTP layer: routing (and its agreement with the OpenAPI
// document), query parsing, JSON parse errors, auth headers, listen addresses, SSE framing.
#define BOOST_TEST_MODULE http_unit
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>
#include <optional>
#include <set>

#include "events/api.pb.h"
#include "http/auth.h"
#include "http/browser_guard.h"
#include "http/json_io.h"
#include "http/openapi.h"
#include "http/query.h"
#include "http/routes.h"
#include "http/sse.h"
#include "http/ui.h"

using namespace enclave;
using namespace enclave::http;

BOOST_AUTO_TEST_CASE(routes_match_methods_and_ids) {
  const std::string id = "0123456789abcdef0123456789abcdef";
  struct Case {
    std::string method, path;
    RouteMatch::Kind kind;
    RouteId route;
  };
  using K = RouteMatch::Kind;
  std::vector<Case> cases = {
      {"POST", "/v1/sessions", K::kFound, RouteId::kCreateSession},
      {"GET", "/v1/sessions", K::kFound, RouteId::kListSessions},
      {"GET", "/v1/sessions/" + id, K::kFound, RouteId::kGetSession},
      {"DELETE", "/v1/sessions/" + id, K::kFound, RouteId::kTeardownSession},
      {"GET", "/v1/sessions/" + id + "/result", K::kFound, RouteId::kGetResult},
      {"POST", "/v1/sessions/" + id + "/exec", K::kFound, RouteId::kExec},
      {"GET", "/v1/sessions/" + id + "/audit", K::kFound, RouteId::kGetAudit},
      {"GET", "/v1/sessions/" + id + "/events", K::kFound, RouteId::kSessionEvents},
      {"POST", "/v1/fleets", K::kFound, RouteId::kCreateFleet},
      {"GET", "/v1/fleets", K::kFound, RouteId::kListFleets},
      {"GET", "/v1/fleets/" + id, K::kFound, RouteId::kGetFleet},
      {"DELETE", "/v1/fleets/" + id, K::kFound, RouteId::kTeardownFleet},
      {"GET", "/v1/healthz", K::kFound, RouteId::kHealthz},
      {"GET", "/metrics", K::kFound, RouteId::kMetrics},
      {"GET", "/v1/openapi.json", K::kFound, RouteId::kOpenApi},
      {"GET", "/ui/", K::kFound, RouteId::kUi},
      {"GET", "/ui/app.js", K::kFound, RouteId::kUiAsset},
      {"GET", "/ui/a/b.js", K::kNotFound, RouteId::kHealthz},
      {"GET", "/v1/fleets/" + id + "/events", K::kFound, RouteId::kFleetEvents},
      {"POST", "/v1/keys", K::kFound, RouteId::kCreateKey},
      {"GET", "/v1/keys", K::kFound, RouteId::kListKeys},
      {"DELETE", "/v1/keys/3f2a0b1c4d5e6f70", K::kFound, RouteId::kRevokeKey},
      {"GET", "/v1/keys/3f2a0b1c4d5e6f70", K::kMethodNotAllowed, RouteId::kHealthz},
      {"GET", "/ui", K::kNotFound, RouteId::kHealthz},
      {"PATCH", "/v1/sessions", K::kMethodNotAllowed, RouteId::kHealthz},
      {"GET", "/v1/sessions/" + id + "/exec", K::kMethodNotAllowed, RouteId::kHealthz},
      {"GET", "/v1/nope", K::kNotFound, RouteId::kHealthz},
      {"GET", "/v1/sessions/", K::kNotFound, RouteId::kHealthz},
      {"GET", "/v1/sessions/" + id + "/result/x", K::kNotFound, RouteId::kHealthz},
      {"GET", "", K::kNotFound, RouteId::kHealthz},
      {"GET", "v1/healthz", K::kNotFound, RouteId::kHealthz},
  };
  for (const auto& c : cases) {
    auto m = match_route(c.method, c.path);
    BOOST_TEST_INFO(c.method << " " << c.path);
    BOOST_CHECK(m.kind == c.kind);
    if (c.kind == K::kFound) {
      BOOST_CHECK(m.route->id == c.route);
    }
  }
  auto m = match_route("PATCH", "/v1/sessions");
  BOOST_CHECK_EQUAL(m.allow, "POST, GET");
  auto g = match_route("GET", "/v1/sessions/%00%ff");
  BOOST_CHECK(g.kind == K::kFound);
  BOOST_CHECK(!is_id(g.id));
  BOOST_CHECK(is_id(id));
  BOOST_CHECK(!is_id("0123456789ABCDEF0123456789abcdef"));
  BOOST_CHECK(!is_id(id + "0"));
}

BOOST_AUTO_TEST_CASE(openapi_lists_exactly_the_routes) {
  google::protobuf::Struct doc;
  auto st = google::protobuf::util::JsonStringToMessage(openapi_json(), &doc);
  BOOST_REQUIRE_MESSAGE(st.ok(), st.ToString());
  std::set<std::string> in_doc, in_table;
  const auto& paths = doc.fields().at("paths").struct_value().fields();
  for (const auto& [path, ops] : paths) {
    for (const auto& [method, op] : ops.struct_value().fields()) {
      std::string m = method;
      for (auto& c : m) c = static_cast<char>(std::toupper(c));
      in_doc.insert(m + " " + path);
      BOOST_CHECK(op.struct_value().fields().count("responses"));
    }
  }
  for (const auto& r : routes())
    in_table.insert(std::string(r.method) + " " + std::string(r.pattern));
  BOOST_CHECK(in_doc == in_table);
  BOOST_CHECK_EQUAL(in_table.size(), routes().size());
  const auto& schemas = doc.fields().at("components").struct_value().fields().at("schemas");
  for (const char* s : {"Session", "CreateSessionRequest", "Fleet", "ErrorResponse", "Limits",
                        "AuditTrail", "AuditEvent", "ExecTurnResult", "ChainStatus", "Usage"}) {
    BOOST_CHECK_MESSAGE(schemas.struct_value().fields().count(s), s);
  }
}

// Synchronous runs (issue 24): POST /v1/sessions and GET …/result document `wait`, bounded.
BOOST_AUTO_TEST_CASE(openapi_documents_the_wait_parameter) {
  google::protobuf::Struct doc;
  auto st = google::protobuf::util::JsonStringToMessage(openapi_json(), &doc);
  BOOST_REQUIRE_MESSAGE(st.ok(), st.ToString());
  const auto& paths = doc.fields().at("paths").struct_value().fields();
  auto wait_param = [&](const std::string& path, const std::string& method) {
    const auto& op = paths.at(path).struct_value().fields().at(method).struct_value().fields();
    if (!op.count("parameters")) return std::string("none");
    for (const auto& p : op.at("parameters").list_value().values()) {
      const auto& f = p.struct_value().fields();
      if (f.at("name").string_value() != "wait") continue;
      const auto& schema = f.at("schema").struct_value().fields();
      return f.at("in").string_value() + " " + schema.at("type").string_value() + " " +
             std::to_string(static_cast<int>(schema.at("minimum").number_value())) + ".." +
             std::to_string(static_cast<int>(schema.at("maximum").number_value()));
    }
    return std::string("none");
  };
  BOOST_CHECK_EQUAL(wait_param("/v1/sessions", "post"), "query integer 0..300");
  BOOST_CHECK_EQUAL(wait_param("/v1/sessions/{id}/result", "get"), "query integer 0..300");
  BOOST_CHECK_EQUAL(wait_param("/v1/sessions/{id}", "get"), "none");
}

// /ui/ is always a page (the built dashboard, or the fallback without npm); /ui/<asset> serves
// only the dashboard's own files.
BOOST_AUTO_TEST_CASE(dashboard_files) {
  auto index = dashboard_file("");
  BOOST_REQUIRE(index);
  BOOST_CHECK_EQUAL(index->content_type, "text/html; charset=utf-8");
  BOOST_CHECK(index->body.find("<html") != std::string_view::npos);
  BOOST_CHECK(dashboard_file("index.html"));
  BOOST_CHECK(!dashboard_file("../etc/passwd"));
  BOOST_CHECK(!dashboard_file("nope.js"));
  if (dashboard_built()) {
    auto js = dashboard_file("app.js");
    BOOST_REQUIRE(js);
    BOOST_CHECK_EQUAL(js->content_type, "text/javascript; charset=utf-8");
    BOOST_CHECK(dashboard_file("style.css"));
    BOOST_CHECK(index->body.find("src=\"app.js\"") != std::string_view::npos);
  }
}

BOOST_AUTO_TEST_CASE(parse_errors_name_the_field) {
  struct Case {
    std::string body, field;
  };
  std::vector<Case> cases = {
      {"{not json", ""},
      {"[]", ""},
      {"", ""},
      {"null", ""},
      {"{\"code\":\"1\",\"bogusField\":1}", "bogusField"},
      {"{\"limits\":{\"bogus\":1}}", "limits.bogus"},
      {"{\"limits\":{\"memoryMb\":\"lots\"}}", "limits.memoryMb"},
      {"{\"limits\":{\"wallClockSeconds\":1.5}}", "limits.wallClockSeconds"},
      {"{\"code\":\"\xed\xa0\x80\"}", ""},
      {"{\"code\":\"\\ud800\"}", ""},
      {"{\"code\":\"\xff\"}", ""},
      {"{} trailing", ""},
  };
  for (const auto& c : cases) {
    api::CreateSessionRequest req;
    auto err = parse_json_object(c.body, &req);
    BOOST_TEST_INFO(c.body);
    BOOST_REQUIRE(err.has_value());
    BOOST_CHECK(err->code == ErrorCode::kInvalidArgument);
    BOOST_CHECK_EQUAL(err->field, c.field);
    BOOST_CHECK(!err->message.empty());
    BOOST_CHECK(valid_utf8(error_json(*err)));
  }
  api::CreateSessionRequest ok;
  BOOST_CHECK(!parse_json_object("{\"code\":\"print(1)\",\"limits\":{\"memoryMb\":64}}", &ok));
  BOOST_CHECK_EQUAL(ok.limits().memory_mb(), 64);
  BOOST_CHECK_EQUAL(field_from_parse_error("(members[3].limits.memory_mb): invalid value"),
                    "members[3].limits.memoryMb");
}

BOOST_AUTO_TEST_CASE(json_output) {
  BOOST_CHECK_EQUAL(error_json(make_error(ErrorCode::kNotFound, "not_found", "no such session")),
                    R"({"error":{"code":"not_found","message":"no such session"}})");
  BOOST_CHECK_EQUAL(
      error_json(make_error(ErrorCode::kInvalidArgument, "", "bad \"x\"\n", "limits.memoryMb")),
      R"({"error":{"code":"invalid_argument","message":"bad \"x\"\n","field":"limits.memoryMb"}})");
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kInvalidArgument), 400);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kUnauthenticated), 401);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kPermissionDenied), 403);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kNotFound), 404);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kConflict), 409);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kTooLarge), 413);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kQuotaExceeded), 429);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kUnavailable), 503);
  BOOST_CHECK_EQUAL(http_status(ErrorCode::kInternal), 500);
  api::ExecTurnResult r;
  r.set_duration_ms(12);
  r.set_stdout("a\xff");
  std::string j = to_json(r);
  BOOST_CHECK(j.find("\"durationMs\":12") != std::string::npos);
  BOOST_CHECK(valid_utf8(j));
  api::AuditEvent a;
  a.set_seq(5);
  BOOST_CHECK(to_json(a).find("\"seq\":5") != std::string::npos);  // a number, not a string
  BOOST_CHECK_EQUAL(json_quote("a\x01\xc3\xa9"), "\"a\\u0001\xc3\xa9\"");
  BOOST_CHECK(!valid_utf8("\xc0\x80"));
  BOOST_CHECK(!valid_utf8("\xf4\x90\x80\x80"));
  BOOST_CHECK(valid_utf8("\xf0\x9f\x98\x80"));
}

BOOST_AUTO_TEST_CASE(query_parsing) {
  auto t = split_target("/v1/sessions?limit=5&phase=running#frag");
  BOOST_CHECK_EQUAL(t.path, "/v1/sessions");
  BOOST_CHECK_EQUAL(t.query, "limit=5&phase=running");
  auto p = parse_session_list_query(t.query);
  BOOST_REQUIRE(p.ok());
  BOOST_CHECK_EQUAL(p->limit, 5u);
  BOOST_CHECK_EQUAL(p->phase, "running");
  auto q = parse_query("a=x%20y+z&b=&c&a=2");
  BOOST_REQUIRE(q.ok());
  BOOST_CHECK_EQUAL(q->at("a"), "2");
  BOOST_CHECK_EQUAL(q->at("b"), "");
  BOOST_CHECK_EQUAL(q->at("c"), "");
  BOOST_CHECK_EQUAL(*percent_decode("x%20y+z"), "x y z");
  BOOST_CHECK(!percent_decode("%4").has_value());
  BOOST_CHECK(!percent_decode("%zz").has_value());
  BOOST_CHECK(!parse_query("a=%").ok());
  for (const char* bad : {"limit=0", "limit=1001", "limit=x", "limit=", "limit=-1"}) {
    auto r = parse_session_list_query(bad);
    BOOST_TEST_INFO(bad);
    BOOST_REQUIRE(!r.ok());
    BOOST_CHECK_EQUAL(r.error().field, "limit");
  }
  BOOST_CHECK_EQUAL(parse_session_list_query("phase=sleeping").error().field, "phase");
  BOOST_CHECK_EQUAL(parse_session_list_query("fleetId=xyz").error().field, "fleetId");
  BOOST_CHECK(parse_session_list_query("fleetId=0123456789abcdef0123456789abcdef&cursor=abc").ok());
  BOOST_CHECK_EQUAL(parse_session_list_query("").value().limit, 100u);
}

BOOST_AUTO_TEST_CASE(auth_headers) {
  BOOST_CHECK_EQUAL(api_key_from_headers("Bearer enc_abc", "").value(), "enc_abc");
  BOOST_CHECK_EQUAL(api_key_from_headers("bearer  enc_abc ", "").value(), "enc_abc");
  BOOST_CHECK_EQUAL(api_key_from_headers("", "e2b_123").value(), "e2b_123");
  BOOST_CHECK(!api_key_from_headers("Basic dXNlcg==", "e2b_123").has_value());
  BOOST_CHECK(!api_key_from_headers("Bearer ", "").has_value());
  BOOST_CHECK(!api_key_from_headers("Bearer", "").has_value());
  BOOST_CHECK(!api_key_from_headers("", "").has_value());
}

BOOST_AUTO_TEST_CASE(listen_addresses) {
  auto a = parse_listen("127.0.0.1:8090");
  BOOST_REQUIRE(a);
  BOOST_CHECK_EQUAL(a->host, "127.0.0.1");
  BOOST_CHECK_EQUAL(a->port, 8090);
  auto b = parse_listen("[::1]:0");
  BOOST_REQUIRE(b);
  BOOST_CHECK_EQUAL(b->host, "::1");
  BOOST_CHECK_EQUAL(b->port, 0);
  for (const char* bad : {"", "8090", "host:", ":80", "h:99999", "::1:80", "[::1]80", "h:8x"}) {
    BOOST_TEST_INFO(bad);
    BOOST_CHECK(!parse_listen(bad).has_value());
  }
  for (const char* yes : {"127.0.0.1", "127.1.2.3", "::1", "localhost", "::ffff:127.0.0.1"})
    BOOST_CHECK_MESSAGE(is_loopback(yes), yes);
  for (const char* no : {"0.0.0.0", "10.0.0.1", "::", "example.com", "128.0.0.1"})
    BOOST_CHECK_MESSAGE(!is_loopback(no), no);
}

BOOST_AUTO_TEST_CASE(sse_framing_and_bounds) {
  BOOST_CHECK_EQUAL(sse_frame("audit", "{\"a\":1}"), "event: audit\ndata: {\"a\":1}\n\n");
  BOOST_CHECK_EQUAL(sse_frame("output", "a\r\nb"), "event: output\ndata: a\ndata: b\n\n");
  SseQueue q(3, 1000);
  BOOST_CHECK(q.push("1", false));   // wakes the consumer
  BOOST_CHECK(!q.push("2", false));  // already woken
  auto b = q.take();
  BOOST_CHECK_EQUAL(b.data, "12");
  BOOST_CHECK(!b.end && !b.overflow);
  BOOST_CHECK(q.push("3", true));
  BOOST_CHECK(!q.push("4", false));  // after the end: dropped
  b = q.take();
  BOOST_CHECK_EQUAL(b.data, "3");
  BOOST_CHECK(b.end);

  SseQueue slow(2, 1000);
  BOOST_CHECK(slow.push("a", false));
  slow.push("b", false);
  slow.push("c", false);  // third item: over the bound
  b = slow.take();
  BOOST_CHECK(b.overflow);
  BOOST_CHECK(b.data.empty());

  SseQueue big(100, 10);
  big.push(std::string(8, 'x'), false);
  big.push(std::string(8, 'y'), false);
  BOOST_CHECK(big.take().overflow);
}

// ---- browser-safe HTTP (http/browser_guard.h) -------------------------------------------------

BOOST_AUTO_TEST_CASE(origins_normalize_to_scheme_host_port) {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  };
  std::vector<Case> cases = {
      {"http://127.0.0.1:8090", "http://127.0.0.1:8090"},
      {"HTTP://Console.Example.COM", "http://console.example.com:80"},
      {"https://console.example.com", "https://console.example.com:443"},
      {"https://console.example.com/", "https://console.example.com:443"},
      {"http://[::1]:8090", "http://[::1]:8090"},
      {"null", std::nullopt},
      {"", std::nullopt},
      {"file://", std::nullopt},
      {"ftp://example.com", std::nullopt},
      {"http://example.com/path", std::nullopt},
      {"http://user@example.com", std::nullopt},
      {"http://example.com:0", std::nullopt},
      {"http://example.com:99999", std::nullopt},
      {"http://example.com:80x", std::nullopt},
      {"http://exa mple.com", std::nullopt},
      {"http://", std::nullopt},
  };
  for (const auto& c : cases) BOOST_CHECK_MESSAGE(normalize_origin(c.in) == c.out, c.in);
}

BOOST_AUTO_TEST_CASE(origin_rule_table) {
  BrowserPolicy none;
  BrowserPolicy listed;
  listed.allowed_origins = {"https://console.example.com:443"};
  BrowserPolicy loopback;
  loopback.loopback_host_only = true;
  struct Case {
    std::string origin, host;
    const BrowserPolicy* policy;
    bool allowed, cross;
  };
  std::vector<Case> cases = {
      {"", "127.0.0.1:8090", &none, true, false},                       // curl, SDKs, CLI
      {"http://127.0.0.1:8090", "127.0.0.1:8090", &none, true, false},  // the dashboard
      {"http://LOCALHOST:8090", "localhost:8090", &none, true, false},
      {"http://example.com", "example.com", &none, true, false},  // default port 80
      {"https://example.com", "example.com:443", &none, true, false},
      {"http://evil.example", "127.0.0.1:8090", &none, false, false},    // the issue's request
      {"null", "127.0.0.1:8090", &none, false, false},                   // sandboxed iframe
      {"http://127.0.0.1:8091", "127.0.0.1:8090", &none, false, false},  // another port
      {"http://localhost:8090", "127.0.0.1:8090", &none, false, false},  // another name
      {"http://127.0.0.1:8090.evil.example", "127.0.0.1:8090", &none, false, false},
      {"http://evil.example", "", &none, false, false},
      {"https://console.example.com", "api.example.com", &listed, true, true},
      {"https://console.example.com:443", "api.example.com", &listed, true, true},
      {"http://console.example.com", "api.example.com", &listed, false, false},  // scheme counts
      {"https://other.example.com", "api.example.com", &listed, false, false},
      // --auth disabled: the Host must be loopback (DNS rebinding), with or without Origin.
      {"", "127.0.0.1:8090", &loopback, true, false},
      {"", "localhost:8090", &loopback, true, false},
      {"", "[::1]:8090", &loopback, true, false},
      {"http://evil.example:8090", "evil.example:8090", &loopback, false, false},
      {"", "evil.example:8090", &loopback, false, false},
      {"", "", &loopback, false, false},
  };
  for (const auto& c : cases) {
    auto v = check_origin(c.origin, c.host, *c.policy);
    BOOST_CHECK_MESSAGE(v.allowed == c.allowed && v.cross_origin == c.cross,
                        "Origin '" << c.origin << "' Host '" << c.host << "': allowed " << v.allowed
                                   << " cross " << v.cross_origin << " " << v.why);
    if (!v.allowed) BOOST_CHECK(!v.why.empty());
  }
}

BOOST_AUTO_TEST_CASE(content_types_are_compared_by_media_type) {
  BOOST_CHECK(content_type_is("application/json", "application/json"));
  BOOST_CHECK(content_type_is("Application/JSON; charset=utf-8", "application/json"));
  BOOST_CHECK(content_type_is(" application/json ;charset=UTF-8", "application/json"));
  BOOST_CHECK(!content_type_is("application/jsonx", "application/json"));
  BOOST_CHECK(!content_type_is("text/plain;charset=UTF-8", "application/json"));
  BOOST_CHECK(!content_type_is("application/x-www-form-urlencoded", "application/json"));
  BOOST_CHECK(!content_type_is("", "application/json"));
  BOOST_CHECK(!content_type_is("text/plain; application/json", "application/json"));
}

BOOST_AUTO_TEST_CASE(guard_refuses_foreign_origins_and_answers_preflights) {
  BrowserPolicy policy;
  policy.allowed_origins = {"https://console.example.com:443"};
  int reached = 0;
  auto handler = guard_browsers(policy, [&](Request, Reply reply) {
    ++reached;
    reply(Response{});
  });
  auto run = [&](Request r) {
    Response got;
    handler(std::move(r), [&](Response x) { got = std::move(x); });
    return got;
  };
  Request evil;
  evil.method = "POST";
  evil.target = "/v1/sessions";
  evil.host = "127.0.0.1:8090";
  evil.origin = "http://evil.example";
  auto r = run(evil);
  BOOST_CHECK_EQUAL(r.status, 403);
  BOOST_CHECK(r.body.find("\"field\":\"Origin\"") != std::string::npos);
  BOOST_CHECK_EQUAL(reached, 0);

  Request allowed = evil;
  allowed.origin = "https://console.example.com";
  r = run(allowed);
  BOOST_CHECK_EQUAL(r.status, 200);
  BOOST_CHECK_EQUAL(reached, 1);
  bool acao = false;
  for (const auto& [k, v] : r.headers)
    acao |= k == "Access-Control-Allow-Origin" && v == "https://console.example.com";
  BOOST_CHECK(acao);

  Request preflight = allowed;
  preflight.method = "OPTIONS";
  preflight.has_preflight = true;
  r = run(preflight);
  BOOST_CHECK_EQUAL(r.status, 204);
  BOOST_CHECK_EQUAL(reached, 1);  // answered by the guard

  Request own = evil;
  own.origin = "http://127.0.0.1:8090";
  r = run(own);
  BOOST_CHECK_EQUAL(r.status, 200);
  BOOST_CHECK_EQUAL(reached, 2);
  BOOST_CHECK(r.headers.empty());  // same origin: no CORS headers needed
}
