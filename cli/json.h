// JSON for the CLI and demo drivers, on protobuf's Struct/Value (no other JSON library here).
#pragma once

#include <google/protobuf/struct.pb.h>

#include <optional>
#include <string>
#include <string_view>

namespace enclave::cli {

using JsonValue = google::protobuf::Value;

// Parses any JSON value; nullopt when malformed.
std::optional<JsonValue> parse_json(std::string_view text);

// Compact JSON text of a value.
std::string to_json_text(const JsonValue& v);

// A JSON string literal (with quotes) for `s`.
std::string json_quote(std::string_view s);

// Member `key` of an object (nullptr when `v` is not an object or has no such member).
const JsonValue* member(const JsonValue& v, std::string_view key);
// Typed member access with defaults (null or a wrong type gives the default).
std::string get_string(const JsonValue& v, std::string_view key, const std::string& dflt = "");
double get_number(const JsonValue& v, std::string_view key, double dflt = 0);
bool get_bool(const JsonValue& v, std::string_view key, bool dflt = false);
// Whether the member exists and is not null.
bool has_value(const JsonValue& v, std::string_view key);

// A scalar as text for people: strings bare (control characters escaped: events/codec/printable.h),
// numbers without ".0", objects/arrays as JSON.
std::string display(const JsonValue& v);
// display() of member `key`, or `dflt` when absent.
std::string display_member(const JsonValue& v, std::string_view key, const std::string& dflt = "");

}  // namespace enclave::cli
