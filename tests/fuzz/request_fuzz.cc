// libFuzzer target over everything Enclave does with a request before the engine sees it:
// the request target (path, query, percent-decoding), route matching and id validation, the
// Authorization / X-API-KEY headers, the browser rules (Origin, Host, Content-Type), the JSON
// body parsed into each request message (with the field named in errors), request validation,
// and the error JSON written back. Every input
// must end in a value or an Error — never a crash, a sanitizer report, or an unbounded loop.
//
// The E2B adapter's pure pieces get the same input: endpoint matching, every E2B body (also as a
// Connect envelope), access-token checks, and the cell/command wrappers.
//
// Input layout: METHOD '\n' TARGET '\n' AUTH-HEADER '\n' BODY (missing parts are empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/api.pb.h"
#include "events/requests/session_request.h"
#include "http/auth.h"
#include "http/browser_guard.h"
#include "http/e2b/access_token.h"
#include "http/e2b/connect_stream.h"
#include "http/e2b/kernel_code.h"
#include "http/e2b/requests.h"
#include "http/e2b/routes.h"
#include "http/e2b/wire_error.h"
#include "http/json_io.h"
#include "http/query.h"
#include "http/routes.h"

using namespace enclave;

namespace {

std::string_view next_line(std::string_view& in) {
  auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

void must_be_an_error_with_json(const Error& e) {
  std::string j = http::error_json(e);
  if (j.empty() || j.front() != '{' || !enclave::valid_utf8(j)) __builtin_trap();
  int status = http::http_status(e.code);
  if (status < 400 || status > 599) __builtin_trap();
}

// An E2B refusal: a 4xx/5xx that names the field when it is about one, as valid JSON text.
template <typename T>
void e2b_result(const Result<T>& r) {
  if (r.ok()) return;
  must_be_an_error_with_json(r.error());
  std::string j = http::e2b::error_body(r.error());
  if (j.empty() || j.front() != '{' || !enclave::valid_utf8(j)) __builtin_trap();
}

template <typename M>
void body_as(std::string_view body) {
  M msg;
  if (auto err = http::parse_json_object(body, &msg)) {
    must_be_an_error_with_json(*err);
    return;
  }
  std::string out = http::to_json(msg);  // what we would echo must be valid JSON text
  if (!enclave::valid_utf8(out)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view method = next_line(in);
  std::string_view target = next_line(in);
  std::string_view auth = next_line(in);
  std::string_view body = in;

  auto t = http::split_target(target);
  (void)http::percent_decode(target);
  if (auto q = http::parse_session_list_query(t.query); !q.ok())
    must_be_an_error_with_json(q.error());
  auto m = http::match_route(method, t.path);
  if (m.kind == http::RouteMatch::Kind::kFound && m.route == nullptr) __builtin_trap();
  (void)http::is_id(m.id);
  (void)http::api_key_from_headers(auth, auth);
  (void)http::parse_listen(auth);
  (void)http::is_key_id(m.id);
  // The browser rules (issue 17): the auth line stands in for Origin, the path for Host.
  if (auto o = http::normalize_origin(auth); o && http::normalize_origin(*o) != o) __builtin_trap();
  http::BrowserPolicy browsers;
  browsers.loopback_host_only = !method.empty() && method.front() == 'P';
  if (auto o = http::normalize_origin(target)) browsers.allowed_origins.push_back(*o);
  auto verdict = http::check_origin(auth, t.path, browsers);
  if (!verdict.allowed && verdict.why.empty()) __builtin_trap();  // a refusal says why
  if (!enclave::valid_utf8(verdict.why)) __builtin_trap();
  (void)http::content_type_is(auth, "application/json");

  body_as<api::ExecRequest>(body);
  body_as<api::CreateFleetRequest>(body);
  api::CreateSessionRequest req;
  if (auto err = http::parse_json_object(body, &req)) {
    must_be_an_error_with_json(*err);
  } else if (auto spec = validate_session_request(req); !spec.ok()) {
    must_be_an_error_with_json(spec.error());
    if (spec.error().field.empty()) __builtin_trap();  // a validation error names its field
  }
  namespace e2b = http::e2b;
  auto e = e2b::match_endpoint(method, t.path);
  if (e.endpoint == e2b::Endpoint::kNone && !e.sandbox_id.empty()) __builtin_trap();
  e2b::SandboxPolicy policy;
  auto sandbox = e2b::parse_new_sandbox(body, policy);
  e2b_result(sandbox);
  if (sandbox.ok()) (void)e2b::to_session_request(*sandbox, policy);
  e2b_result(e2b::parse_set_timeout(body, policy));
  auto cell = e2b::parse_execute(body);
  e2b_result(cell);
  if (cell.ok()) (void)e2b::cell_turn(cell->code, cell->env);
  e2b_result(e2b::parse_start_process(body));
  auto cmd = e2b::parse_start_process(e2b::connect::envelope(0, body));
  e2b_result(cmd);
  if (cmd.ok()) (void)e2b::command_turn(cmd->argv, cmd->env, cmd->cwd);
  (void)e2b::verify_access_token("fuzz-secret", t.path, auth);
  return 0;
}
