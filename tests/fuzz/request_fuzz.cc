// libFuzzer target over everything Enclave does with a request before the engine sees it:
// the request target (path, query, percent-decoding), route matching and id validation, the
// Authorization / X-API-KEY headers, the JSON body parsed into each request message (with the
// field named in errors), request validation, and the error JSON written back. Every input
// must end in a value or an Error — never a crash, a sanitizer report, or an unbounded loop.
//
// Input layout: METHOD '\n' TARGET '\n' AUTH-HEADER '\n' BODY (missing parts are empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "events/api.pb.h"
#include "events/session_request.h"
#include "http/auth.h"
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
  if (j.empty() || j.front() != '{' || !http::valid_utf8(j)) __builtin_trap();
  int status = http::http_status(e.code);
  if (status < 400 || status > 599) __builtin_trap();
}

template <typename M>
void body_as(std::string_view body) {
  M msg;
  if (auto err = http::parse_json_object(body, &msg)) {
    must_be_an_error_with_json(*err);
    return;
  }
  std::string out = http::to_json(msg);  // what we would echo must be valid JSON text
  if (!http::valid_utf8(out)) __builtin_trap();
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
  if (auto q = http::parse_session_list_query(t.query); !q.ok()) must_be_an_error_with_json(q.error());
  auto m = http::match_route(method, t.path);
  if (m.kind == http::RouteMatch::Kind::kFound && m.route == nullptr) __builtin_trap();
  (void)http::is_id(m.id);
  (void)http::api_key_from_headers(auth, auth);
  (void)http::parse_listen(auth);

  body_as<api::ExecRequest>(body);
  body_as<api::CreateFleetRequest>(body);
  api::CreateSessionRequest req;
  if (auto err = http::parse_json_object(body, &req)) {
    must_be_an_error_with_json(*err);
  } else if (auto spec = validate_session_request(req); !spec.ok()) {
    must_be_an_error_with_json(spec.error());
    if (spec.error().field.empty()) __builtin_trap();  // a validation error names its field
  }
  return 0;
}
