#include "cli/session_view.h"

#include <set>
#include <vector>

namespace enclave::cli {

bool session_phase_terminal(std::string_view phase) {
  return phase == "succeeded" || phase == "failed" || phase == "killed";
}

std::string describe_object(const JsonValue& obj) {
  if (obj.kind_case() != JsonValue::kStructValue) return display(obj) + "\n";
  static const std::vector<std::string> order = {
      "id",        "orgId",     "createdBy", "fleetId",    "name",  "phase",
      "execMode",  "language",  "exitCode",  "killReason", "turns", "tornDown",
      "createdAt", "startedAt", "endedAt",   "limits",     "egress"};
  const auto& fields = obj.struct_value().fields();
  std::string out;
  std::set<std::string> done;
  auto line = [&](const std::string& k) {
    auto it = fields.find(k);
    if (it == fields.end() || done.count(k)) return;
    done.insert(k);
    out += k + ": " + display(it->second) + "\n";
  };
  for (const auto& k : order) line(k);
  std::set<std::string> rest;
  for (const auto& [k, v] : fields) rest.insert(k);
  for (const auto& k : rest) line(k);
  return out;
}

std::string describe_audit(const JsonValue& trail) {
  std::string out;
  const JsonValue* events = member(trail, "events");
  if (!events || events->kind_case() != JsonValue::kListValue) return out;
  for (const auto& e : events->list_value().values()) {
    out += display_member(e, "seq") + "  " + display_member(e, "at") + "  " +
           display_member(e, "type") + "  " + display_member(e, "message");
    if (const JsonValue* d = member(e, "data");
        d && d->kind_case() == JsonValue::kStructValue && d->struct_value().fields_size() > 0) {
      out += "  " + to_json_text(*d);
    }
    out += "\n";
  }
  return out;
}

}  // namespace enclave::cli
