// Validation of CreateSessionRequest: defaults filled, every bad field named.
#include "events/session_request.h"

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

BOOST_AUTO_TEST_SUITE_END()
