// enclave events SESSION: follows a session live (audit events and output as they happen) until
// it is torn down. --json prints one {"event":…,"data":…} object a line.
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/sse_client.h"

namespace enclave::cli {

int cmd_events(const Args& args) {
  const char* kUsage = "enclave events SESSION [--json]";
  Options o = parse_options(args.words, {}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "expected one SESSION id");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  bool json = o.flag("json");
  bool ok = follow_session_events(*api, o.positional[0], [&](const SseEvent& ev) {
    if (json) {
      JsonValue line;
      auto& f = *line.mutable_struct_value()->mutable_fields();
      f["event"].set_string_value(ev.event);
      if (auto d = parse_json(ev.data))
        f["data"] = std::move(*d);
      else
        f["data"].set_string_value(ev.data);
      std::cout << to_json_text(line) << "\n";
    } else if (auto d = parse_json(ev.data)) {
      if (ev.event == "audit") {
        std::cout << display_member(*d, "seq") << "  " << display_member(*d, "at") << "  "
                  << display_member(*d, "type") << "  " << display_member(*d, "message") << "\n";
      } else if (ev.event == "output") {
        std::string text = get_string(*d, "data");
        std::fwrite(text.data(), 1, text.size(),
                    get_string(*d, "stream") == "stderr" ? stderr : stdout);
        if (ev.data.find("\"truncated\":true") != std::string::npos)
          std::fprintf(stderr, "\n[enclave: live %s truncated at its cap]\n",
                       get_string(*d, "stream").c_str());
        std::fflush(stderr);
      } else if (ev.event == "end") {
        std::cout << "(end of session)\n";
      }
    }
    std::cout.flush();
    return ev.event != "end";
  });
  return ok ? 0 : 1;
}

}  // namespace enclave::cli
