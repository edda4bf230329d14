// Request targets: splitting path from query, percent-decoding, and the list query's parameters.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "events/error.h"
#include "events/requests/session_request.h"

namespace enclave::http {

struct Target {
  std::string path;   // as sent (not decoded: ids are plain hex)
  std::string query;  // after '?', without it
};
Target split_target(std::string_view target);

// Decodes %XX and '+'; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = true);

// "a=1&b=x%20y" → {a:1, b:"x y"}; a repeated key keeps the last value. Error on a bad escape.
[[nodiscard]] Result<std::map<std::string, std::string>> parse_query(std::string_view query);

// The parameters of GET /v1/sessions, read from the query string and checked by the one
// validation (events/requests/session_request.h: validate_list_query). Errors name the parameter.
using SessionListParams = ListQuery;
[[nodiscard]] Result<SessionListParams> parse_session_list_query(std::string_view query);

}  // namespace enclave::http
