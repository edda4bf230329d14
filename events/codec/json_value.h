// JSON over protobuf's Struct/Value (the only JSON library in the tree): parse, print, build and
// read values. One implementation shared by the CLI (cli/json.h) and the Kubernetes backend
// (backends/kubernetes/json.h), which only name it for their callers.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace enclave::json {

using Value = google::protobuf::Value;

// Any JSON value; nullopt when malformed.
std::optional<Value> parse(std::string_view text);
// Compact JSON text ("null" if the value cannot be printed).
std::string to_text(const Value& v);
// A JSON string literal (with quotes) for `s`.
std::string quote(std::string_view s);

Value str(std::string_view s);
Value num(double n);
Value boolean(bool b);
Value object(std::initializer_list<std::pair<std::string, Value>> members);
Value array(std::vector<Value> items);

// Member `key` of an object (nullptr when `v` is not an object or has no such member).
const Value* member(const Value& v, std::string_view key);
// The value at a dotted path of object members ("status.phase"); nullptr if any step is missing
// or not an object.
const Value* at(const Value& v, std::string_view dotted_path);

// Typed reads of a member or path result: `dflt` when null (missing) or of another type.
std::string string_or(const Value* m, const std::string& dflt);
double number_or(const Value* m, double dflt);
// As number_or, but a string holding a whole decimal number also counts (64-bit integers may
// come quoted).
double number_or_quoted(const Value* m, double dflt);
bool bool_or(const Value* m, bool dflt);
// Whether `m` is present and not null.
bool present(const Value* m);
// Elements of a list (empty when `m` is not a list).
std::vector<const Value*> list_of(const Value* m);

}  // namespace enclave::json
