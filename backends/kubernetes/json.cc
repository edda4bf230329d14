#include "backends/kubernetes/json.h"

namespace enclave::backends::k8s {

Json jstr(std::string_view s) { return json::str(s); }
Json jnum(double n) { return json::num(n); }
Json jbool(bool b) { return json::boolean(b); }
Json jobj(std::initializer_list<std::pair<std::string, Json>> members) {
  return json::object(members);
}
Json jarr(std::vector<Json> items) { return json::array(std::move(items)); }

std::string to_text(const Json& v) { return json::to_text(v); }
std::optional<Json> parse(std::string_view text) { return json::parse(text); }

const Json* at(const Json& v, std::string_view path) { return json::at(v, path); }

std::string str_at(const Json& v, std::string_view p, const std::string& dflt) {
  return json::string_or(at(v, p), dflt);
}

double num_at(const Json& v, std::string_view p, double dflt) {
  return json::number_or(at(v, p), dflt);
}

bool bool_at(const Json& v, std::string_view p, bool dflt) { return json::bool_or(at(v, p), dflt); }

std::vector<const Json*> list_at(const Json& v, std::string_view p) {
  return json::list_of(at(v, p));
}

}  // namespace enclave::backends::k8s
