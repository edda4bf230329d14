#include "http/e2b/wire_error.h"

#include "http/json_io.h"

namespace enclave::http::e2b {

std::string error_body(const Error& e) {
  std::string message = e.message.empty() ? default_reason(e.code) : e.message;
  std::string out =
      "{\"code\":" + std::to_string(http_status(e.code)) + ",\"message\":" + json_quote(message);
  if (!e.field.empty()) out += ",\"field\":" + json_quote(e.field);
  out += "}";
  return out;
}

Response error_response(const Error& e) {
  Response r;
  r.status = http_status(e.code);
  r.body = error_body(e);
  if (e.retry_after_s > 0) r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
  return r;
}

Error sandbox_not_found(const std::string& sandbox_id) {
  return make_error(ErrorCode::kNotFound, "not_found",
                    "sandbox \"" + sanitize_utf8(sandbox_id.substr(0, 64)) + "\" not found");
}

}  // namespace enclave::http::e2b
