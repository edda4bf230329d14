// JSON helpers to build the Kubernetes objects we send and to read the ones the API server
// returns: this backend's names for events/codec/json_value.h (one JSON implementation).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/codec/json_value.h"

namespace enclave::backends::k8s {

using Json = json::Value;

Json jstr(std::string_view s);
Json jnum(double n);
Json jbool(bool b);
Json jobj(std::initializer_list<std::pair<std::string, Json>> members);
Json jarr(std::vector<Json> items);

// Compact JSON text (integral numbers print without a fraction).
std::string to_text(const Json& v);
// Any JSON value; nullopt when malformed.
std::optional<Json> parse(std::string_view text);

// The value at a dotted path of object members ("status.phase"); nullptr if any step is missing
// or not an object.
const Json* at(const Json& v, std::string_view dotted_path);
// Typed reads of at(); the default when missing or of another type.
std::string str_at(const Json& v, std::string_view dotted_path, const std::string& dflt = "");
double num_at(const Json& v, std::string_view dotted_path, double dflt = 0);
bool bool_at(const Json& v, std::string_view dotted_path, bool dflt = false);
// Elements of the list at the path (empty when not a list).
std::vector<const Json*> list_at(const Json& v, std::string_view dotted_path);

}  // namespace enclave::backends::k8s
