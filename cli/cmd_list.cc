// enclave list: the caller's org's sessions, one line each (newest page the API gives first),
// so the id a user needs next is one command away.
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output_format.h"

namespace enclave::cli {

namespace {
constexpr const char* kUsage =
    "enclave list [--phase P] [--fleet FLEET] [--limit N] [--output table|json]";

// "killed (wall_clock_exceeded)", "succeeded", …
std::string phase_text(const JsonValue& s) {
  std::string phase = get_string(s, "phase", "?");
  if (has_value(s, "killReason")) phase += " (" + get_string(s, "killReason") + ")";
  return phase;
}
}  // namespace

int cmd_list(const Args& args) {
  Options o = parse_options(args.words, {"phase", "fleet", "limit", "output"}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (!o.positional.empty()) return usage(kUsage, "unexpected argument " + o.positional[0]);
  auto format = output_format(o);
  if (!format) return usage(kUsage, "--output must be table or json");
  std::string query;
  auto add = [&](const char* key, const std::string& value) {
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + url_encode(value);
  };
  if (o.has("phase")) add("phase", o.get("phase"));
  if (o.has("fleet")) add("fleetId", o.get("fleet"));
  long long limit = 0;
  if (o.has("limit")) {
    if (!parse_uint(o.get("limit"), &limit) || limit == 0)
      return usage(kUsage, "--limit must be a positive number");
    add("limit", std::to_string(limit));
  }
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "GET", "/v1/sessions" + query);
  if (!a) return 1;
  if (*format == OutputFormat::kJson) {
    std::cout << a->body << "\n";
    return 0;
  }
  Table t({"ID", "PHASE", "MODE", "EXIT", "CREATED", "NAME"});
  if (const JsonValue* list = member(a->json, "sessions");
      list && list->kind_case() == JsonValue::kListValue) {
    for (const auto& s : list->list_value().values()) {
      t.add({get_string(s, "id"), phase_text(s), get_string(s, "execMode"),
             display_member(s, "exitCode", "-"), get_string(s, "createdAt"),
             get_string(s, "name", "-")});
    }
  }
  std::cout << t.render();
  if (std::string next = get_string(a->json, "nextCursor"); !next.empty())
    std::cerr << "enclave: more sessions: the API's next page is cursor=" << next << "\n";
  return 0;
}

}  // namespace enclave::cli
