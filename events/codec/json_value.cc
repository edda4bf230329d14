#include "events/codec/json_value.h"

#include <google/protobuf/util/json_util.h>

#include <cstdlib>

namespace enclave::json {

std::optional<Value> parse(std::string_view text) {
  Value v;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(text.data(), text.size()), &v)
           .ok())
    return std::nullopt;
  return v;
}

std::string to_text(const Value& v) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(v, &out, o).ok()) return "null";
  return out;
}

std::string quote(std::string_view s) { return to_text(str(s)); }

Value str(std::string_view s) {
  Value v;
  v.set_string_value(std::string(s));
  return v;
}

Value num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}

Value boolean(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

Value object(std::initializer_list<std::pair<std::string, Value>> members) {
  Value v;
  auto* f = v.mutable_struct_value()->mutable_fields();
  for (const auto& [k, m] : members) (*f)[k] = m;
  return v;
}

Value array(std::vector<Value> items) {
  Value v;
  auto* l = v.mutable_list_value();
  for (auto& i : items) *l->add_values() = std::move(i);
  return v;
}

const Value* member(const Value& v, std::string_view key) {
  if (v.kind_case() != Value::kStructValue) return nullptr;
  const auto& f = v.struct_value().fields();
  auto it = f.find(std::string(key));
  return it == f.end() ? nullptr : &it->second;
}

const Value* at(const Value& v, std::string_view path) {
  const Value* cur = &v;
  while (cur && !path.empty()) {
    auto dot = path.find('.');
    cur = member(*cur, path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return cur;
}

std::string string_or(const Value* m, const std::string& dflt) {
  return m && m->kind_case() == Value::kStringValue ? m->string_value() : dflt;
}

double number_or(const Value* m, double dflt) {
  return m && m->kind_case() == Value::kNumberValue ? m->number_value() : dflt;
}

double number_or_quoted(const Value* m, double dflt) {
  if (m && m->kind_case() == Value::kStringValue && !m->string_value().empty()) {
    char* end = nullptr;
    double d = std::strtod(m->string_value().c_str(), &end);
    if (end && *end == '\0') return d;
  }
  return number_or(m, dflt);
}

bool bool_or(const Value* m, bool dflt) {
  return m && m->kind_case() == Value::kBoolValue ? m->bool_value() : dflt;
}

bool present(const Value* m) {
  return m && m->kind_case() != Value::kNullValue && m->kind_case() != Value::KIND_NOT_SET;
}

std::vector<const Value*> list_of(const Value* m) {
  std::vector<const Value*> out;
  if (m && m->has_list_value())
    for (const auto& e : m->list_value().values()) out.push_back(&e);
  return out;
}

}  // namespace enclave::json
