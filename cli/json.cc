#include "cli/json.h"

#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <cstdio>

#include "events/codec/printable.h"

namespace enclave::cli {

std::optional<JsonValue> parse_json(std::string_view text) {
  JsonValue v;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &v);
  if (!st.ok()) return std::nullopt;
  return v;
}

std::string to_json_text(const JsonValue& v) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(v, &out).ok()) return "null";
  return out;
}

std::string json_quote(std::string_view s) {
  JsonValue v;
  v.set_string_value(std::string(s));
  return to_json_text(v);
}

const JsonValue* member(const JsonValue& v, std::string_view key) {
  if (v.kind_case() != JsonValue::kStructValue) return nullptr;
  const auto& f = v.struct_value().fields();
  auto it = f.find(std::string(key));
  return it == f.end() ? nullptr : &it->second;
}

std::string get_string(const JsonValue& v, std::string_view key, const std::string& dflt) {
  const JsonValue* m = member(v, key);
  return m && m->kind_case() == JsonValue::kStringValue ? m->string_value() : dflt;
}

double get_number(const JsonValue& v, std::string_view key, double dflt) {
  const JsonValue* m = member(v, key);
  if (!m) return dflt;
  if (m->kind_case() == JsonValue::kNumberValue) return m->number_value();
  if (m->kind_case() == JsonValue::kStringValue) {  // 64-bit integers may come quoted
    char* end = nullptr;
    double d = std::strtod(m->string_value().c_str(), &end);
    if (end && *end == '\0' && !m->string_value().empty()) return d;
  }
  return dflt;
}

bool get_bool(const JsonValue& v, std::string_view key, bool dflt) {
  const JsonValue* m = member(v, key);
  return m && m->kind_case() == JsonValue::kBoolValue ? m->bool_value() : dflt;
}

bool has_value(const JsonValue& v, std::string_view key) {
  const JsonValue* m = member(v, key);
  return m && m->kind_case() != JsonValue::kNullValue && m->kind_case() != JsonValue::KIND_NOT_SET;
}

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
