// Small answers every part of the E2B adapter gives (adapter.cc, adapter_contexts.cc,
// adapter_files.cc). Internal to http/e2b.
#pragma once

#include <string>
#include <utility>

#include "events/error.h"
#include "http/e2b/connect_stream.h"
#include "http/request.h"

namespace enclave::http::e2b {

// A JSON body with `status`.
inline Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// The engine is gone: the server is shutting down.
inline Error unavailable() {
  return make_error(ErrorCode::kUnavailable, "unavailable", "the server is shutting down");
}

// A Connect server stream that ends at once with `e` (envd's streaming calls).
inline Response connect_end_stream(const Error& e) {
  Response r;
  r.content_type = std::string(connect::kContentType);
  r.body = connect::end_stream(e);
  return r;
}

}  // namespace enclave::http::e2b
