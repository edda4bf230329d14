// Unit tests for the pure pieces of the E2B adapter (http/e2b/): NDJSON lines, Connect
// envelopes, request checks (400s naming the field), access tokens, the kernel wrappers' reports
// and the endpoint table.
#define BOOST_TEST_MODULE e2b_unit
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <boost/test/unit_test.hpp>
#include <condition_variable>
#include <mutex>
#include <tuple>

#include "http/e2b/access_token.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/deadlines.h"
#include "http/e2b/kernel_code.h"
#include "http/e2b/ndjson.h"
#include "http/e2b/requests.h"
#include "http/e2b/routes.h"
#include "http/e2b/turn_answer.h"
#include "http/e2b/wire_error.h"

using namespace enclave;
using namespace enclave::http::e2b;

namespace {

google::protobuf::Value parse_value(const std::string& json) {
  google::protobuf::Value v;
  BOOST_REQUIRE(google::protobuf::util::JsonStringToMessage(json, &v).ok());
  return v;
}

std::string connect_body(const std::string& json) { return connect::envelope(0, json); }

}  // namespace

BOOST_AUTO_TEST_CASE(ndjson_lines_are_single_json_objects) {
  BOOST_CHECK_EQUAL(ndjson::output("stdout", "a\n\"b\"", "2026-01-01T00:00:00.000Z"),
                    "{\"type\":\"stdout\",\"text\":\"a\\n\\\"b\\\"\",\"timestamp\":"
                    "\"2026-01-01T00:00:00.000Z\"}\n");
  BOOST_CHECK_EQUAL(ndjson::result("2"),
                    "{\"type\":\"result\",\"text\":\"2\",\"is_main_result\":true}\n");
  BOOST_CHECK_EQUAL(ndjson::error("NameError", "name 'y' is not defined", "Traceback\n"),
                    "{\"type\":\"error\",\"name\":\"NameError\",\"value\":\"name 'y' is not "
                    "defined\",\"traceback\":\"Traceback\\n\"}\n");
  BOOST_CHECK_EQUAL(ndjson::number_of_executions(3),
                    "{\"type\":\"number_of_executions\",\"execution_count\":3}\n");
  BOOST_CHECK_EQUAL(ndjson::end_of_execution(), "{\"type\":\"end_of_execution\"}\n");
  // Every line is exactly one line: newlines and invalid UTF-8 in text are escaped/replaced.
  auto line = ndjson::output("stderr", "x\ny\r\n\xff", "t");
  BOOST_CHECK_EQUAL(std::count(line.begin(), line.end(), '\n'), 1);
  BOOST_CHECK(line.find("\xEF\xBF\xBD") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cell_output_goes_out_in_whole_lines) {
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix(""), 0u);
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix("hello"), 0u);
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix("hello\n"), 6u);
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix("a\nb\nc"), 4u);
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix(std::string(10, 'x'), 10), 10u);
  BOOST_CHECK_EQUAL(ndjson::sendable_prefix("a\n" + std::string(9, 'x'), 10), 2u);
}

BOOST_AUTO_TEST_CASE(connect_envelopes_round_trip) {
  auto env = connect::envelope(0, "{\"a\":1}");
  BOOST_REQUIRE_EQUAL(env.size(), 5u + 7u);
  BOOST_CHECK_EQUAL(env[0], '\0');
  BOOST_CHECK_EQUAL(static_cast<uint8_t>(env[4]), 7u);
  auto back = connect::decode_request(env);
  BOOST_REQUIRE(back.ok());
  BOOST_CHECK_EQUAL(*back, "{\"a\":1}");
  // 300-byte payload: the length spans two bytes, big-endian.
  std::string big(300, 'x');
  auto env2 = connect::envelope(0, big);
  BOOST_CHECK_EQUAL(static_cast<uint8_t>(env2[3]), 1u);
  BOOST_CHECK_EQUAL(static_cast<uint8_t>(env2[4]), 44u);
  BOOST_CHECK(connect::decode_request(env2).ok());
  auto end = connect::end_stream();
  BOOST_CHECK_EQUAL(static_cast<uint8_t>(end[0]), connect::kFlagEndStream);
  BOOST_CHECK_EQUAL(end.substr(5), "{}");
}

BOOST_AUTO_TEST_CASE(connect_rejects_malformed_requests) {
  struct Case {
    std::string body, says;
  };
  std::vector<Case> cases = {
      {"", "fewer than 5 bytes"},
      {std::string("\0\0\0", 3), "fewer than 5 bytes"},
      {connect::envelope(connect::kFlagCompressed, "{}"), "compressed"},
      {connect::envelope(connect::kFlagEndStream, "{}"), "end-of-stream"},
      {connect::envelope(0, "{}") + "x", "exactly one message"},
      {connect::envelope(0, "{}").substr(0, 6), "exactly one message"},
      {std::string("\0\x7f\xff\xff\xff", 5), "larger than 1 MiB"},
  };
  for (const auto& c : cases) {
    auto r = connect::decode_request(c.body);
    BOOST_REQUIRE(!r.ok());
    BOOST_CHECK_EQUAL(r.error().field, "body");
    BOOST_CHECK_MESSAGE(r.error().message.find(c.says) != std::string::npos, r.error().message);
  }
}

BOOST_AUTO_TEST_CASE(connect_process_events) {
  BOOST_CHECK_EQUAL(connect::start_event(7).substr(5), "{\"event\":{\"start\":{\"pid\":7}}}");
  BOOST_CHECK_EQUAL(connect::data_event("stdout", "hello\n").substr(5),
                    "{\"event\":{\"data\":{\"stdout\":\"aGVsbG8K\"}}}");
  BOOST_CHECK_EQUAL(connect::end_event(0, "").substr(5),
                    "{\"event\":{\"end\":{\"exitCode\":0,\"exited\":true,\"status\":\"exit status "
                    "0\"}}}");
  auto err = connect::end_stream(make_error(ErrorCode::kNotFound, "not_found", "gone"));
  BOOST_CHECK_EQUAL(err.substr(5), "{\"error\":{\"code\":\"not_found\",\"message\":\"gone\"}}");
  BOOST_CHECK_EQUAL(connect::base64(""), "");
  BOOST_CHECK_EQUAL(connect::base64("f"), "Zg==");
  BOOST_CHECK_EQUAL(connect::base64("fo"), "Zm8=");
  BOOST_CHECK_EQUAL(connect::base64("foo"), "Zm9v");
  BOOST_CHECK_EQUAL(connect::base64(std::string("\xff\x00\x80", 3)), "/wCA");
}

BOOST_AUTO_TEST_CASE(new_sandbox_requests_map_to_interactive_sessions) {
  SandboxPolicy policy;
  auto spec = parse_new_sandbox(
      R"({"templateID":"code-interpreter-v1","timeout":120,"envVars":{"A":"1"},"metadata":{"k":"v"}})",
      policy);
  BOOST_REQUIRE(spec.ok());
  BOOST_CHECK_EQUAL(spec->timeout_seconds, 120);
  auto req = to_session_request(*spec, policy);
  BOOST_CHECK_EQUAL(req.exec_mode(), "interactive");
  BOOST_CHECK_EQUAL(req.language(), "python");
  BOOST_CHECK_EQUAL(req.egress().mode(), "deny_all");
  BOOST_CHECK_EQUAL(req.env().at("A"), "1");
  BOOST_CHECK_EQUAL(req.name(), "e2b:code-interpreter-v1");
  BOOST_CHECK_EQUAL(req.limits().wall_clock_seconds(), kTurnSeconds);
  // The defaults the SDK leaves out; null for optional fields (the Python SDK sends them).
  auto plain = parse_new_sandbox(
      R"({"templateID":"base","network":null,"mcp":null,"envVars":null,"metadata":null,)"
      R"("timeout":null,"secure":true,"autoPause":false,"allow_internet_access":false})",
      policy);
  BOOST_REQUIRE(plain.ok());
  BOOST_CHECK_EQUAL(plain->timeout_seconds, kDefaultTimeoutSeconds);
  BOOST_CHECK(!plain->internet);
}

BOOST_AUTO_TEST_CASE(new_sandbox_refusals_name_the_field) {
  SandboxPolicy policy;
  policy.max_timeout_seconds = 600;
  struct Case {
    std::string body, field;
    ErrorCode code = ErrorCode::kInvalidArgument;
  };
  std::vector<Case> cases = {
      {"", ""},
      {"[]", ""},
      {"{}", "templateID"},
      {R"({"templateID":"My Custom!"})", "templateID"},
      {R"({"templateID":"base","timeout":0})", "timeout"},
      {R"({"templateID":"base","timeout":601})", "timeout"},
      {R"({"templateID":"base","timeout":"x"})", "timeout"},
      {R"({"templateID":"base","envVars":{"1X":"y"}})", "envVars"},
      {R"({"templateID":"base","envVars":{"X":"a\u0000b"}})", "envVars.X"},
      {R"({"templateID":"base","autoPause":true})", "autoPause"},
      {R"({"templateID":"base","network":{"allowOut":["1.1.1.1"]}})", "network"},
      {R"({"templateID":"base","volumeMounts":[{"name":"v","path":"/data"}]})", "volumeMounts"},
      {R"({"templateID":"base","bogus":1})", "bogus"},
  };
  for (const auto& c : cases) {
    auto r = parse_new_sandbox(c.body, policy);
    BOOST_REQUIRE_MESSAGE(!r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r.error().field == c.field, c.body + " → " + r.error().field);
    BOOST_CHECK(r.error().code == c.code);
    BOOST_CHECK(!r.error().message.empty());
  }
  // Without a policy allow list, asking for internet access gets none (the Python SDK always
  // asks); with one, it becomes that allow list.
  auto asked = parse_new_sandbox(R"({"templateID":"base","allow_internet_access":true})", policy);
  BOOST_REQUIRE(asked.ok());
  BOOST_CHECK_EQUAL(to_session_request(*asked, policy).egress().mode(), "deny_all");
  policy.internet_allow = {"pypi.org:443"};
  auto ok = parse_new_sandbox(R"({"templateID":"base","allow_internet_access":true})", policy);
  BOOST_REQUIRE(ok.ok());
  auto req = to_session_request(*ok, policy);
  BOOST_CHECK_EQUAL(req.egress().mode(), "allow_list");
  BOOST_CHECK_EQUAL(req.egress().allow(0), "pypi.org:443");
}

BOOST_AUTO_TEST_CASE(cells_pick_their_language_and_context) {
  struct Case {
    std::string body, context;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"code":"1"})", "default"},
           {R"({"code":"1","language":"python"})", "default"},
           {R"({"code":"1","language":"js"})", "default-javascript"},
           {R"({"code":"1","language":"javascript"})", "default-javascript"},
           {R"({"code":"1","language":"bash"})", "default-bash"},
           {R"({"code":"1","context_id":"bash-0123456789abcdef"})", "bash-0123456789abcdef"},
           {R"({"code":"1","context_id":"python-0123456789abcdef","language":"python"})",
            "python-0123456789abcdef"},
           {R"({"code":"1","context_id":"default"})", "default"}}) {
    auto r = parse_execute(c.body);
    BOOST_REQUIRE_MESSAGE(r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r->context == c.context, c.body + " → " + r->context);
  }
  struct Refused {
    std::string body, field;
  };
  for (const auto& c : std::vector<Refused>{
           {R"({"code":"1","language":"r"})", "language"},
           {R"({"code":"1","context_id":"c1"})", "context_id"},
           {R"({"code":"1","context_id":"ruby-0123456789abcdef"})", "context_id"},
           {R"({"code":"1","context_id":"js-0123456789abcdef"})", "context_id"},
           {R"({"code":"1","context_id":"bash-0123456789ABCDEF"})", "context_id"},
           {R"({"code":"1","context_id":"bash-0123456789abcdef","language":"js"})", "language"},
           {R"({"code":"1","language":"js","env_vars":{"A":"b"}})", "env_vars"}}) {
    auto r = parse_execute(c.body);
    BOOST_REQUIRE_MESSAGE(!r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r.error().field == c.field, c.body + " → " + r.error().field);
  }
  BOOST_CHECK_EQUAL(context_language("default-bash").value(), "bash");
  BOOST_CHECK(!context_language("default-").has_value());
  BOOST_CHECK(!context_language("").has_value());

  auto js = parse_new_context(R"({"language":"js","cwd":"/home/user"})");
  BOOST_REQUIRE(js.ok());
  BOOST_CHECK_EQUAL(js->language, "javascript");
  BOOST_CHECK_EQUAL(js->cwd.value(), "/home/user");
  auto plain = parse_new_context("{}");
  BOOST_REQUIRE(plain.ok());
  BOOST_CHECK_EQUAL(plain->language, "python");
  BOOST_CHECK(!plain->cwd.has_value());
  for (const auto& c : std::vector<Refused>{{R"({"language":"r"})", "language"},
                                            {R"({"cwd":"relative"})", "cwd"},
                                            {R"({"cwd":")" + std::string(1100, 'a') + "\"}", "cwd"},
                                            {R"({"other":1})", "other"}}) {
    auto r = parse_new_context(c.body);
    BOOST_REQUIRE_MESSAGE(!r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r.error().field == c.field, c.body + " → " + r.error().field);
  }

  auto report = read_context_report(parse_value(R"({"e2b":{"contexts":[]}})"));
  BOOST_REQUIRE(report.ok());
  BOOST_CHECK(report->fields().count("contexts") == 1);
  auto missing = read_context_report(
      parse_value(R"({"e2b":{"error":{"name":"ContextNotFound","value":"no"}}})"));
  BOOST_REQUIRE(!missing.ok());
  BOOST_CHECK(missing.error().code == ErrorCode::kNotFound);
  BOOST_CHECK(!read_context_report(parse_value("1")).ok());
  // The caller's text only ever travels as base64 of JSON, for contexts too.
  BOOST_CHECK(create_context_turn("bash", std::string("/tmp/x\"y")).find("x\"y") ==
              std::string::npos);
  BOOST_CHECK(cell_turn("console.log(1)", {}, "default-javascript").find("console") ==
              std::string::npos);
}

BOOST_AUTO_TEST_CASE(execute_and_process_requests) {
  auto cell = parse_execute(R"({"code":"x = 1","env_vars":{"A":"b"},"context_id":null})");
  BOOST_REQUIRE(cell.ok());
  BOOST_CHECK_EQUAL(cell->code, "x = 1");
  BOOST_CHECK_EQUAL(cell->env.at("A"), "b");
  // What the Python SDK sends: nulls for the options it was not given.
  BOOST_CHECK(
      parse_execute(R"({"code":"1","context_id":null,"language":null,"env_vars":null})").ok());
  struct Case {
    std::string body, field;
  };
  for (const auto& c : std::vector<Case>{{"{}", "code"},
                                         {R"({"code":1})", "code"},
                                         {R"({"code":"1","language":"r"})", "language"},
                                         {R"({"code":"1","context_id":"c1"})", "context_id"},
                                         {R"({"code":"1","env_vars":{"-":"x"}})", "env_vars"}}) {
    auto r = parse_execute(c.body);
    BOOST_REQUIRE_MESSAGE(!r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r.error().field == c.field, c.body + " → " + r.error().field);
  }

  auto cmd = parse_start_process(connect_body(
      R"({"process":{"cmd":"/bin/bash","args":["-l","-c","echo hello"],"envs":{"A":"1"},"cwd":"/tmp"},"stdin":false})"));
  BOOST_REQUIRE(cmd.ok());
  BOOST_CHECK((cmd->argv == std::vector<std::string>{"/bin/bash", "-l", "-c", "echo hello"}));
  BOOST_CHECK_EQUAL(cmd->cwd.value(), "/tmp");
  for (const auto& c : std::vector<Case>{
           {connect_body("{}"), "process.cmd"},
           {connect_body(R"({"process":{"cmd":"a"},"pty":{"size":{"cols":80}}})"), "pty"},
           {connect_body(R"({"process":{"cmd":"a"},"stdin":true})"), "stdin"},
           {connect_body(R"({"process":{"cmd":"a","envs":{"A B":"x"}}})"), "process.envs"},
           {connect_body(R"({"process":{"cmd":"a","nope":1}})"), "process.nope"},
           {R"({"process":{"cmd":"a"}})", "body"}}) {
    auto r = parse_start_process(c.body);
    BOOST_REQUIRE_MESSAGE(!r.ok(), c.body);
    BOOST_CHECK_MESSAGE(r.error().field == c.field, c.body + " → " + r.error().field);
  }
}

BOOST_AUTO_TEST_CASE(access_tokens_bind_one_sandbox) {
  const std::string secret = "s3cret";
  const std::string a = "0123456789abcdef0123456789abcdef";
  const std::string b = "fedcba9876543210fedcba9876543210";
  auto token = mint_access_token(secret, a, TokenOwner{"acme", "key:42"});
  auto owner = verify_access_token(secret, a, token);
  BOOST_REQUIRE(owner.has_value());
  BOOST_CHECK_EQUAL(owner->org_id, "acme");
  BOOST_CHECK_EQUAL(owner->user_id, "key:42");
  BOOST_CHECK(!verify_access_token(secret, b, token));   // another sandbox
  BOOST_CHECK(!verify_access_token("other", a, token));  // another server
  BOOST_CHECK(!verify_access_token(secret, a, ""));
  BOOST_CHECK(token.rfind("eyJ", 0) != 0);  // never looks like the session JWT
  // Changing the org in clear breaks the MAC.
  auto forged = mint_access_token(secret, a, TokenOwner{"evil", "key:42"});
  auto mac = token.substr(token.rfind('_'));
  BOOST_CHECK(!verify_access_token(secret, a, forged.substr(0, forged.rfind('_')) + mac));
  // Garbage of every shape is refused, never a crash.
  for (const std::string& bad :
       std::vector<std::string>{"e2benvd_", "e2benvd___", "e2benvd_zz_zz_zz", "e2benvd_61_62_6",
                                "x" + token, token.substr(0, token.size() - 2)}) {
    BOOST_CHECK(!verify_access_token(secret, a, bad));
  }
}

BOOST_AUTO_TEST_CASE(set_timeout_requests) {
  SandboxPolicy policy;
  policy.max_timeout_seconds = 60;
  BOOST_CHECK_EQUAL(parse_set_timeout(R"({"timeout":30})", policy).value(), 30);
  for (std::string body : {"{}", R"({"timeout":0})", R"({"timeout":61})", R"({"timeout":"x"})"}) {
    auto r = parse_set_timeout(body, policy);
    BOOST_REQUIRE_MESSAGE(!r.ok(), body);
    BOOST_CHECK_EQUAL(r.error().field, "timeout");
  }
}

BOOST_AUTO_TEST_CASE(deadlines_fire_once_in_order_and_can_be_withdrawn) {
  Deadlines d;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> fired;
  auto record = [&](std::string id) {
    return [&, id] {
      std::lock_guard lock(mu);
      fired.push_back(id);
      cv.notify_all();
    };
  };
  auto now = Deadlines::Clock::now();
  d.set("late", now + std::chrono::milliseconds(60), record("late"));
  d.set("early", now + std::chrono::milliseconds(20), record("early"));
  d.set("gone", now + std::chrono::milliseconds(30), record("gone"));
  d.set("moved", now + std::chrono::hours(1), record("moved"));
  d.set("moved", now + std::chrono::milliseconds(40), record("moved"));  // replaces
  d.erase("gone");
  std::unique_lock lock(mu);
  BOOST_REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return fired.size() >= 3; }));
  BOOST_CHECK((fired == std::vector<std::string>{"early", "moved", "late"}));
  lock.unlock();
  BOOST_CHECK_EQUAL(d.size(), 0u);
  BOOST_CHECK(!d.remaining("late").has_value());
  d.set("never", Deadlines::Clock::now() + std::chrono::hours(1), record("never"));
  BOOST_CHECK_EQUAL(d.size(), 1u);  // dropped, not run, when `d` is destroyed
  auto left = d.remaining("never");
  BOOST_REQUIRE(left.has_value());
  BOOST_CHECK(*left > std::chrono::minutes(59) && *left <= std::chrono::hours(1));
}

BOOST_AUTO_TEST_CASE(kernel_wrappers_and_their_reports) {
  auto code = cell_turn("x = 1\nx + 1", {{"A", "b"}});
  BOOST_CHECK(code.find("def __enclave_e2b_turn") == 0);
  BOOST_CHECK(code.find("del __enclave_e2b_turn") != std::string::npos);
  BOOST_CHECK(code.find("x + 1") == std::string::npos);  // user text only as base64
  auto cmd = command_turn({"/bin/bash", "-c", "echo '\"hi\"'"}, {}, std::nullopt);
  BOOST_CHECK(cmd.find("echo") == std::string::npos);

  auto text = read_cell_outcome(parse_value(R"({"e2b":{"text":"2"}})"));
  BOOST_REQUIRE(text.ok());
  BOOST_CHECK_EQUAL(text->text.value(), "2");
  BOOST_CHECK(!text->failed);
  auto none = read_cell_outcome(parse_value(R"({"e2b":{}})"));
  BOOST_REQUIRE(none.ok());
  BOOST_CHECK(!none->text.has_value());
  auto err = read_cell_outcome(parse_value(
      R"({"e2b":{"error":{"name":"NameError","value":"name 'y' is not defined","traceback":"T"}}})"));
  BOOST_REQUIRE(err.ok());
  BOOST_CHECK(err->failed);
  BOOST_CHECK_EQUAL(err->error_name, "NameError");
  BOOST_CHECK(!read_cell_outcome(parse_value("null")).ok());
  BOOST_CHECK(!read_cell_outcome(parse_value(R"({"other":1})")).ok());

  auto exit0 = read_command_outcome(parse_value(R"({"e2b":{"exitCode":0}})"));
  BOOST_REQUIRE(exit0.ok());
  BOOST_CHECK_EQUAL(exit0->exit_code, 0);
  auto spawn = read_command_outcome(parse_value(R"({"e2b":{"exitCode":127,"error":"no"}})"));
  BOOST_REQUIRE(spawn.ok());
  BOOST_CHECK_EQUAL(spawn->error, "no");
  BOOST_CHECK(!read_command_outcome(parse_value(R"({"e2b":{"exitCode":"0"}})")).ok());
}

namespace {

api::ExecTurnResult turn_result(const std::string& out, const std::string& err,
                                const std::string& exit_json, const std::string& json) {
  api::ExecTurnResult t;
  t.set_turn(4);
  t.set_stdout(out);
  t.set_stderr(err);
  *t.mutable_exit_code() = parse_value(exit_json);
  *t.mutable_json() = parse_value(json);
  return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(cell_answers_end_every_way_with_end_of_execution) {
  const std::string ts = "2026-01-01T00:00:00.000Z";
  auto k = CallKind::kCell;
  // A value, with the part of stdout not streamed live sent first.
  auto a =
      final_frames(k, turn_result("a\nb\n", "", "0", R"({"e2b":{"text":"2"}})"), "a\n", "", ts);
  BOOST_CHECK_EQUAL(a, ndjson::output("stdout", "b\n", ts) + ndjson::result("2") +
                           ndjson::number_of_executions(4) + ndjson::end_of_execution());
  // A chart and a display() before the cell's value; the kernel's own main result is not sent
  // twice (the cell's value comes from the wrapper's report).
  auto charts = turn_result("", "", "0", R"({"e2b":{"text":"2"}})");
  for (auto [type, data, main] :
       {std::tuple{"image/png", "iVBORw0K", false}, std::tuple{"text/plain", "'shown'", false},
        std::tuple{"text/plain", "2", true}}) {
    auto* x = charts.add_results();
    x->set_type(type);
    x->set_data(data);
    x->set_is_main_result(main);
  }
  BOOST_CHECK_EQUAL(final_frames(k, charts, "", "", ts),
                    ndjson::display_result("png", "iVBORw0K") +
                        ndjson::display_result("text", "'shown'") + ndjson::result("2") +
                        ndjson::number_of_executions(4) + ndjson::end_of_execution());
  // Live output that is not a prefix of the final text sends nothing more (no duplicates).
  auto b = final_frames(k, turn_result("xyz", "", "0", R"({"e2b":{}})"), "other", "", ts);
  BOOST_CHECK_EQUAL(b, ndjson::number_of_executions(4) + ndjson::end_of_execution());
  // The cell's exception.
  auto c = final_frames(
      k, turn_result("", "", "0", R"({"e2b":{"error":{"name":"E","value":"v","traceback":"t"}}})"),
      "", "", ts);
  BOOST_CHECK(c.find(ndjson::error("E", "v", "t")) == 0);
  // Timed out (exit code null), no report (the workload broke `enclave`), the call failed.
  auto d = final_frames(k, turn_result("", "", "null", "null"), "", "", ts);
  BOOST_CHECK(d.find("\"name\":\"TimeoutError\"") != std::string::npos);
  auto e = final_frames(k, turn_result("", "boom", "1", "null"), "", "", ts);
  BOOST_CHECK(e.find("\"name\":\"SandboxError\"") != std::string::npos);
  BOOST_CHECK(e.find("\"traceback\":\"boom\"") != std::string::npos);
  auto f = final_frames(
      k, make_error(ErrorCode::kConflict, "session_not_running", "session is killed"), "", "", ts);
  BOOST_CHECK_EQUAL(
      f, ndjson::error("SandboxError", "session is killed", "") + ndjson::end_of_execution());
  for (const auto& frames : {a, b, c, d, e, f}) {
    BOOST_CHECK(frames.size() >= 28 &&
                frames.substr(frames.size() - 28) == ndjson::end_of_execution());
  }
}

BOOST_AUTO_TEST_CASE(command_answers_end_with_end_of_stream) {
  auto k = CallKind::kCommand;
  auto ok = final_frames(k, turn_result("hi\n", "", "0", R"({"e2b":{"exitCode":3}})"), "", "", "");
  BOOST_CHECK_EQUAL(ok, connect::data_event("stdout", "hi\n") + connect::end_event(3, "") +
                            connect::end_stream());
  auto slow = final_frames(k, turn_result("", "", "null", "null"), "", "", "");
  BOOST_CHECK(slow.find("\"code\":\"unavailable\"") != std::string::npos);
  BOOST_CHECK_EQUAL(static_cast<uint8_t>(slow[0]), connect::kFlagEndStream);
  auto failed = final_frames(k, make_error(ErrorCode::kNotFound, "not_found", "gone"), "", "", "");
  BOOST_CHECK_EQUAL(failed, connect::end_stream(make_error(ErrorCode::kNotFound, "", "gone")));
  BOOST_CHECK_EQUAL(output_frame(k, "stderr", "x", ""), connect::data_event("stderr", "x"));
}

BOOST_AUTO_TEST_CASE(endpoints_and_errors) {
  using E = Endpoint;
  struct Case {
    std::string method, path;
    E want;
  };
  const std::string id = "0123456789abcdef0123456789abcdef";
  std::vector<Case> cases = {
      {"POST", "/sandboxes", E::kCreateSandbox},
      {"POST", "/v2/sandboxes", E::kCreateSandbox},
      {"GET", "/v2/sandboxes", E::kListSandboxes},
      {"GET", "/sandboxes/" + id, E::kGetSandbox},
      {"DELETE", "/sandboxes/" + id, E::kKillSandbox},
      {"PUT", "/sandboxes/" + id, E::kBadMethod},
      {"POST", "/sandboxes/" + id + "/pause", E::kPauseSandbox},
      {"POST", "/sandboxes/" + id + "/resume", E::kConnectSandbox},
      {"POST", "/v2/sandboxes/" + id + "/connect", E::kConnectSandbox},
      {"POST", "/sandboxes/" + id + "/timeout", E::kSetTimeout},
      {"GET", "/sandboxes/" + id + "/timeout", E::kBadMethod},
      {"POST", "/execute", E::kExecute},
      {"GET", "/execute", E::kBadMethod},
      {"POST", "/process.Process/Start", E::kStartProcess},
      {"POST", "/process.Process/Connect", E::kUnsupportedRpc},
      {"POST", "/filesystem.Filesystem/Stat", E::kFilesystemRpc},
      {"POST", "/filesystem.Filesystem/ListDir", E::kFilesystemRpc},
      {"GET", "/filesystem.Filesystem/Stat", E::kBadMethod},
      {"POST", "/filesystem.Filesystem/WatchDir", E::kWatchDir},
      {"POST", "/filesystem.Filesystem/CreateWatcher", E::kUnsupportedRpc},
      {"POST", "/filesystem.Filesystem/Statx", E::kUnsupportedRpc},
      {"GET", "/files", E::kReadFile},
      {"POST", "/files", E::kWriteFiles},
      {"DELETE", "/files", E::kBadMethod},
      {"GET", "/files/x", E::kUnsupported},
      {"POST", "/contexts", E::kCreateContext},
      {"GET", "/contexts", E::kListContexts},
      {"PUT", "/contexts", E::kBadMethod},
      {"DELETE", "/contexts/javascript-0123456789abcdef", E::kRemoveContext},
      {"POST", "/contexts/javascript-0123456789abcdef/restart", E::kRestartContext},
      {"GET", "/contexts/javascript-0123456789abcdef/restart", E::kBadMethod},
      {"POST", "/contexts/x/other", E::kUnsupported},
      {"DELETE", "/contexts/", E::kUnsupported},
      {"GET", "/health", E::kHealth},
      {"GET", "/v1/sessions", E::kNone},
      {"GET", "/v1/healthz", E::kNone},
      {"GET", "/ui/", E::kNone},
      {"GET", "/metrics", E::kNone},
  };
  for (const auto& c : cases) {
    auto m = match_endpoint(c.method, c.path);
    BOOST_CHECK_MESSAGE(m.endpoint == c.want, c.method + " " + c.path);
  }
  BOOST_CHECK_EQUAL(match_endpoint("DELETE", "/sandboxes/" + id).sandbox_id, id);
  BOOST_CHECK_EQUAL(match_endpoint("POST", "/contexts/bash-0123456789abcdef/restart").context_id,
                    "bash-0123456789abcdef");
  BOOST_CHECK_EQUAL(error_body(sandbox_not_found("abc")),
                    "{\"code\":404,\"message\":\"sandbox \\\"abc\\\" not found\"}");
  BOOST_CHECK_EQUAL(
      error_body(make_error(ErrorCode::kInvalidArgument, "invalid_argument", "m", "timeout")),
      "{\"code\":400,\"message\":\"m\",\"field\":\"timeout\"}");
}
