// JSON at the HTTP edge: request bodies into api.proto messages (with errors that name the field
// at fault), messages and errors out as the API's JSON. Pure; no I/O.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "events/codec/json_string.h"
#include "events/error.h"

namespace google::protobuf {
class Message;
}

namespace enclave::http {

// Parses a request body that must be one JSON object into `msg`. Unknown fields, wrong types,
// invalid UTF-8 and lone surrogates are errors (kInvalidArgument, reason "invalid_argument",
// naming the field when protobuf's message lets us).
[[nodiscard]] std::optional<Error> parse_json_object(std::string_view body,
                                                     google::protobuf::Message* msg);

// The lowerCamelCase field path named by a protobuf JSON parse error, or "" if none:
// "(limits.memory_mb): invalid value" → "limits.memoryMb"; "(limits) bogus: Cannot find field."
// → "limits.bogus"; "bogusField: Cannot find field." → "bogusField".
std::string field_from_parse_error(std::string_view message);

// A message as the API's JSON: lowerCamelCase, primitive fields always present, invalid UTF-8
// replaced by U+FFFD. (Fields the API documents as numbers are 32-bit in api.proto, so they print
// as JSON numbers.)
std::string to_json(const google::protobuf::Message& msg);

// `{"error":{"code":reason,"message":…,"field":…}}` (field only when set).
std::string error_json(const Error& e);

// The HTTP status of an error code.
int http_status(ErrorCode code);

// The reason used when an Error carries none ("not_found", "invalid_argument", …).
std::string default_reason(ErrorCode code);

}  // namespace enclave::http
