#include "cli/json.h"

#include <cmath>
#include <cstdio>

#include "events/codec/printable.h"

namespace enclave::cli {

std::optional<JsonValue> parse_json(std::string_view text) { return json::parse(text); }

std::string to_json_text(const JsonValue& v) { return json::to_text(v); }

std::string json_quote(std::string_view s) { return json::quote(s); }

const JsonValue* member(const JsonValue& v, std::string_view key) { return json::member(v, key); }

std::string get_string(const JsonValue& v, std::string_view key, const std::string& dflt) {
  return json::string_or(member(v, key), dflt);
}

double get_number(const JsonValue& v, std::string_view key, double dflt) {
  return json::number_or_quoted(member(v, key), dflt);
}

bool get_bool(const JsonValue& v, std::string_view key, bool dflt) {
  return json::bool_or(member(v, key), dflt);
}

bool has_value(const JsonValue& v, std::string_view key) { return json::present(member(v, key)); }

std::string display(const JsonValue& v) {
  switch (v.kind_case()) {
    case JsonValue::kStringValue:
      return printable(v.string_value());
    case JsonValue::kNumberValue: {
      double d = v.number_value();
      if (std::floor(d) == d && std::fabs(d) < 1e15)
        return std::to_string(static_cast<long long>(d));
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", d);
      return buf;
    }
    case JsonValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case JsonValue::kNullValue:
    case JsonValue::KIND_NOT_SET:
      return "null";
    default:
      return to_json_text(v);
  }
}

std::string display_member(const JsonValue& v, std::string_view key, const std::string& dflt) {
  const JsonValue* m = member(v, key);
  return m ? display(*m) : dflt;
}

}  // namespace enclave::cli
