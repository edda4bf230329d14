// Validation of CreateSessionRequest: defaults filled, every bad field named.
#include "events/requests/session_request.h"

#include <boost/test/unit_test.hpp>

using namespace enclave;

BOOST_AUTO_TEST_SUITE(session_request)

BOOST_AUTO_TEST_CASE(defaults_are_secure_and_complete) {
  api::CreateSessionRequest r;
  r.set_code("print(1)");
  auto s = validate_session_request(r);
  BOOST_REQUIRE(s.ok());
  BOOST_CHECK_EQUAL(s->language(), "python");
  BOOST_CHECK_EQUAL(s->exec_mode(), events::EXEC_MODE_BATCH);
  BOOST_CHECK_EQUAL(s->egress().mode(), "deny_all");
  BOOST_CHECK_EQUAL(s->limits().memory_mb(), 256);
  BOOST_CHECK_EQUAL(s->limits().cpu_millis(), 1000);
  BOOST_CHECK_EQUAL(s->limits().pids(), 64);
  BOOST_CHECK_EQUAL(s->limits().wall_clock_seconds(), 30);
}

BOOST_AUTO_TEST_CASE(bad_fields_are_named) {
  struct Row {
    std::function<void(api::CreateSessionRequest&)> edit;
    std::string field;
  };
  const std::vector<Row> rows = {
      {[](auto& r) { r.clear_code(); }, "code"},
      {[](auto& r) { r.set_language("cobol"); }, "language"},
      {[](auto& r) { r.set_exec_mode("forever"); }, "execMode"},
      {[](auto& r) { r.mutable_limits()->set_memory_mb(-5); }, "limits.memoryMb"},
      {[](auto& r) { r.mutable_limits()->set_pids(0); }, "limits.pids"},
      {[](auto& r) { r.mutable_limits()->set_wall_clock_seconds(99999); },
       "limits.wallClockSeconds"},
      {[](auto& r) { r.mutable_egress()->set_mode("open"); }, "egress.mode"},
      {[](auto& r) {
         r.mutable_egress()->set_mode("allow_list");
         r.mutable_egress()->add_allow("not a host");
       },
       "egress.allow[0]"},
      {[](auto& r) { r.mutable_egress()->add_allow("example.com:80"); }, "egress.allow"},
      {[](auto& r) { (*r.mutable_env())["1BAD"] = "x"; }, "env"},
      {[](auto& r) { (*r.mutable_env())["ENCLAVE_CHANNEL_FD"] = "3"; }, "env"},
  };
  for (const auto& row : rows) {
    api::CreateSessionRequest r;
    r.set_code("print(1)");
    row.edit(r);
    auto s = validate_session_request(r, {}, "members[2].");
    BOOST_REQUIRE(!s.ok());
    BOOST_CHECK_EQUAL(s.error().field, "members[2]." + row.field);
    BOOST_CHECK(s.error().code == ErrorCode::kInvalidArgument);
  }
}

BOOST_AUTO_TEST_CASE(host_port_entries) {
  for (const char* ok : {"example.com:443", "127.0.0.1:8080", "a-b.c_d.io:1"})
    BOOST_CHECK_MESSAGE(valid_host_port(ok), ok);
  for (const char* bad :
       {"example.com", ":80", "host:0", "host:65536", "host:8x", "a b:1", "..:1", "host:"})
    BOOST_CHECK_MESSAGE(!valid_host_port(bad), bad);
}

BOOST_AUTO_TEST_CASE(interactive_needs_no_code) {
  api::CreateSessionRequest r;
  r.set_exec_mode("interactive");
  BOOST_CHECK(validate_session_request(r).ok());
}

// The other requests checked by the same module: each bad input names its field with the
// exact message the API answers.
BOOST_AUTO_TEST_CASE(list_query_table) {
  struct Row {
    ListQuery q;
    const char* field;  // "" = valid
    const char* message;
  };
  const std::string id = "0123456789abcdef0123456789abcdef";
  std::vector<Row> rows = {
      {{"", "", 100, ""}, "", ""},
      {{id, "running", 1, "42"}, "", ""},
      {{"xyz", "", 100, ""}, "fleetId", "fleetId must be a 32-character lowercase hex id"},
      {{"0123456789ABCDEF0123456789ABCDEF", "", 100, ""},
       "fleetId",
       "fleetId must be a 32-character lowercase hex id"},
      {{"", "sleeping", 100, ""},
       "phase",
       "phase must be one of queued, starting, running, succeeded, failed, killed"},
      {{"", "", 0, ""}, "limit", "limit must be an integer from 1 to 1000"},
      {{"", "", 1001, ""}, "limit", "limit must be an integer from 1 to 1000"},
      {{"", "", 100, "abc"}, "cursor", "cursor is not valid"},
      {{"", "", 100, "12345678901234567890"}, "cursor", "cursor is not valid"},
  };
  for (const auto& r : rows) {
    auto f = validate_list_query(r.q);
    BOOST_TEST_INFO(r.q.fleet_id << " " << r.q.phase << " " << r.q.limit << " " << r.q.cursor);
    if (std::string(r.field).empty()) {
      BOOST_CHECK(f.ok());
      continue;
    }
    BOOST_REQUIRE(!f.ok());
    BOOST_CHECK_EQUAL(f.error().field, r.field);
    BOOST_CHECK_EQUAL(f.error().message, r.message);
    BOOST_CHECK_EQUAL(f.error().reason, "invalid_argument");
  }
  auto ok = validate_list_query({id, "", 7, "42"});
  BOOST_REQUIRE(ok.ok());
  BOOST_CHECK_EQUAL(ok->fleet_id.size(), 16u);
  BOOST_CHECK_EQUAL(ok->after, 42u);
  BOOST_CHECK_EQUAL(ok->limit, 7u);
  for (const char* bad : {"0", "1001", "x", "", "-1", "1000000"})
    BOOST_CHECK_EQUAL(parse_list_limit(bad).error().field, "limit");
  BOOST_CHECK_EQUAL(parse_list_limit("1000").value(), 1000u);
}

BOOST_AUTO_TEST_CASE(exec_request_table) {
  api::ExecRequest r;
  BOOST_CHECK_EQUAL(validate_exec_request(r).error().message, "code is required");
  r.set_code(std::string(RequestBounds{}.max_code_bytes + 1, 'x'));
  auto big = validate_exec_request(r);
  BOOST_CHECK_EQUAL(big.error().field, "code");
  BOOST_CHECK_EQUAL(big.error().message, "code is too large");
  auto cmd = validate_exec_request(r, {}, "process.args", "the command");
  BOOST_CHECK_EQUAL(cmd.error().field, "process.args");
  BOOST_CHECK_EQUAL(cmd.error().message, "the command is too large");
  r.set_code("print(1)");
  BOOST_CHECK(validate_exec_request(r).ok());
  for (int64_t t : {0, -1, 3'600'001}) {
    r.set_timeout_ms(t);
    BOOST_CHECK_EQUAL(validate_exec_request(r).error().field, "timeoutMs");
  }
  r.set_timeout_ms(3'600'000);
  BOOST_CHECK(validate_exec_request(r).ok());
}

BOOST_AUTO_TEST_CASE(fleet_request_table) {
  api::CreateFleetRequest f;
  BOOST_CHECK_EQUAL(validate_fleet_request(f).error().field, "members");
  f.add_members()->set_code("print(1)");
  auto* m = f.add_members();
  m->set_code("print(2)");
  m->set_exec_mode("interactive");
  auto e = validate_fleet_request(f);
  BOOST_REQUIRE(!e.ok());
  BOOST_CHECK_EQUAL(e.error().field, "members[1].execMode");
  f.mutable_members()->RemoveLast();
  f.add_members();  // no code
  BOOST_CHECK_EQUAL(validate_fleet_request(f).error().field.rfind("members[1].", 0), 0u);
  f.mutable_members()->RemoveLast();
  f.set_name(std::string(201, 'n'));
  BOOST_CHECK_EQUAL(validate_fleet_request(f).error().field, "name");
  f.set_name("ok");
  auto good = validate_fleet_request(f);
  BOOST_REQUIRE(good.ok());
  BOOST_CHECK_EQUAL(good->size(), 1u);
}

BOOST_AUTO_TEST_CASE(wait_is_whole_seconds_up_to_300_and_a_bad_one_names_wait) {
  for (const char* ok : {"0", "1", "30", "300"})
    BOOST_CHECK_EQUAL(parse_wait_seconds(ok).value(), static_cast<uint32_t>(std::stoul(ok)));
  for (const char* bad : {"301", "-1", "1.5", "abc", "", "1e2", "0300", "99999999999", " 1"}) {
    auto r = parse_wait_seconds(bad);
    BOOST_REQUIRE_MESSAGE(!r.ok(), "wait=" << bad);
    BOOST_CHECK_EQUAL(r.error().field, "wait");
    BOOST_CHECK(r.error().code == ErrorCode::kInvalidArgument);
  }
}

BOOST_AUTO_TEST_SUITE_END()
