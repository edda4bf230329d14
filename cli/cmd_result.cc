// enclave result SESSION: a session's output and enclave.result() value, as `enclave run`
// printed them (or would have), for a session that was started elsewhere or has ended.
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output_format.h"
#include "cli/session_result.h"

namespace enclave::cli {

namespace {
constexpr const char* kUsage = "enclave result SESSION [--wait] [--output text|json]";
constexpr int kMaxWaitMs = 24 * 3600 * 1000;
}  // namespace

int cmd_result(const Args& args) {
  Options o = parse_options(args.words, {"output"}, {"json", "wait"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 1) return usage(kUsage, "expected one SESSION id");
  const bool json = o.flag("json") || o.get("output") == "json";
  if (o.has("output") && !json && o.get("output") != "text" && o.get("output") != "table")
    return usage(kUsage, "--output must be text or json");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  const std::string& id = o.positional[0];
  auto r = o.flag("wait") ? await_final_result(*api, id, kMaxWaitMs)
                          : call(*api, "GET", "/v1/sessions/" + id + "/result");
  if (!r) return 1;
  if (json) {
    std::cout << r->body << "\n";
    return 0;
  }
  print_result(r->json);
  if (!get_bool(r->json, "final"))
    std::cerr << "enclave: session " << id
              << " has not ended: this is its output so far (--wait waits for the end)\n";
  return 0;
}

}  // namespace enclave::cli
