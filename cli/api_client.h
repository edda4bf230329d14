// The Enclave API as the CLI sees it: base URL and key from the environment, calls that turn
// error answers into readable messages.
#pragma once

#include <optional>
#include <string>

#include "cli/http_client.h"
#include "cli/json.h"

namespace enclave::cli {

struct ApiClient {
  Url url;
  std::string api_key;  // empty: no Authorization header
};

// From ENCLAVE_BASE_URL (default http://127.0.0.1:8090) and ENCLAVE_API_KEY. nullopt with
// `error` when the URL is malformed.
std::optional<ApiClient> client_from_env(std::string* error);

struct ApiAnswer {
  int status = 0;
  std::string body;  // raw JSON text
  JsonValue json;    // parsed body (null when not JSON)
};

// One call. On success (2xx) returns the answer. On failure prints "enclave: <what>" to stderr
// (the API's error code and message, and the field when named) and returns nullopt.
std::optional<ApiAnswer> call(const ApiClient& api, const std::string& method,
                              const std::string& path, const std::string& body = "");

// "not_found: session not found (field: x)" from an error answer, or the transport error.
std::string describe_error(const HttpResponse& r);

}  // namespace enclave::cli
