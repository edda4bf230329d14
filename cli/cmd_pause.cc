// enclave pause | resume | fork: checkpoint an interactive session, bring it back, or copy it
// (docs/PAUSE.md).
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/session_view.h"

namespace enclave::cli {

namespace {

int session_post(const Args& args, const char* usage_text, const std::string& verb) {
  Options o = parse_options(args.words, {}, {"json"});
  if (!o.error.empty()) return usage(usage_text, o.error);
  if (o.positional.size() != 1) return usage(usage_text, "expected one SESSION id");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/sessions/" + o.positional[0] + "/" + verb, "{}");
  if (!a) return 1;
  std::string out = o.flag("json") ? a->body + "\n" : describe_object(a->json);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace

int cmd_pause(const Args& args) {
  return session_post(args, "enclave pause SESSION [--json]", "pause");
}

int cmd_resume(const Args& args) {
  return session_post(args, "enclave resume SESSION [--json]", "resume");
}

int cmd_fork(const Args& args) {
  const char* kUsage = "enclave fork SESSION [--count N] [--json]";
  Options o = parse_options(args.words, {"count"}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "expected one SESSION id");
  long long n = 1;
  if (o.has("count") && (!parse_uint(o.get("count"), &n) || n < 1 || n > 100))
    return usage(kUsage, "--count must be 1..100");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/sessions/" + o.positional[0] + "/fork",
                "{\"count\":" + std::to_string(n) + "}");
  if (!a) return 1;
  if (o.flag("json")) {
    std::cout << a->body << "\n";
    return 0;
  }
  // One new session id a line, ready for `xargs -n1 enclave exec …`.
  const std::string& body = a->body;
  for (size_t at = body.find("\"id\":\""); at != std::string::npos;
       at = body.find("\"id\":\"", at + 6)) {
    size_t end = body.find('"', at + 6);
    if (end == std::string::npos) break;
    std::cout << body.substr(at + 6, end - at - 6) << "\n";
  }
  return 0;
}

}  // namespace enclave::cli
