// enclave exec | get | kill | audit: one session's turns, view, teardown and audit trail.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/session_view.h"
#include "events/codec/base64.h"

namespace enclave::cli {

namespace {

void write_all(FILE* f, const std::string& s) {
  if (!s.empty()) std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

// Shared shape of get/kill/audit: one SESSION argument, optional --json, one call.
int simple(const Args& args, const char* usage_text, const std::string& method,
           const std::string& suffix, std::string (*describe)(const JsonValue&)) {
  Options o = parse_options(args.words, {}, {"json"});
  if (!o.error.empty()) return usage(usage_text, o.error);
  if (o.positional.size() != 1) return usage(usage_text, "expected one SESSION id");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, method, "/v1/sessions/" + o.positional[0] + suffix);
  if (!a) return 1;
  write_all(stdout, o.flag("json") ? a->body + "\n" : describe(a->json));
  return 0;
}

}  // namespace

// Writes each rich result of a turn to DIR/turn-<n>-<i>.<png|html|txt|json>; returns the files
// written (space-separated) and sets `err` on the first failure.
std::string save_results(const JsonValue& turn, const std::string& dir, std::string* err) {
  const JsonValue* results = member(turn, "results");
  if (!results || !results->has_list_value()) return "";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *err = "create " + dir + ": " + ec.message();
    return "";
  }
  std::string saved;
  const std::string n = display_member(turn, "turn", "0");
  int i = 0;
  for (const auto& r : results->list_value().values()) {
    const std::string type = get_string(r, "type");
    std::string data = get_string(r, "data");
    std::string ext = type == "image/png"          ? "png"
                      : type == "text/html"        ? "html"
                      : type == "application/json" ? "json"
                                                   : "txt";
    if (type == "image/png") {
      auto bytes = base64_decode(data);
      if (!bytes) {
        *err = "result " + std::to_string(i) + " is not base64";
        continue;
      }
      data = std::move(*bytes);
    }
    const std::string path = dir + "/turn-" + n + "-" + std::to_string(i++) + "." + ext;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) {
      *err = "write " + path;
      continue;
    }
    saved += (saved.empty() ? "" : " ") + path;
  }
  return saved;
}

int cmd_exec(const Args& args) {
  const char* kUsage = "enclave exec SESSION CODE|- [--timeout-ms N] [--save-results DIR] [--json]";
  Options o = parse_options(args.words, {"timeout-ms", "save-results"}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  if (o.positional.size() != 2) return usage(kUsage, "expected SESSION and CODE (or - for stdin)");
  std::string code = o.positional[1], err;
  if (code == "-" && !read_input("-", &code, &err)) return fail(err);
  std::string body = "{\"code\":" + json_quote(code);
  if (o.has("timeout-ms")) {
    long long n = 0;
    if (!parse_uint(o.get("timeout-ms"), &n)) return usage(kUsage, "--timeout-ms must be a number");
    body += ",\"timeoutMs\":" + std::to_string(n);
  }
  body += "}";
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/sessions/" + o.positional[0] + "/exec", body);
  if (!a) return 1;
  if (o.flag("json")) {
    write_all(stdout, a->body + "\n");
  } else {
    write_all(stdout, get_string(a->json, "stdout"));
    write_all(stderr, get_string(a->json, "stderr"));
  }
  if (o.has("save-results")) {
    std::string saved = save_results(a->json, o.get("save-results"), &err);
    if (!err.empty()) std::cerr << "enclave: --save-results: " << err << "\n";
    if (!saved.empty()) std::cerr << "enclave: saved " << saved << "\n";
  }
  if (!has_value(a->json, "exitCode")) {
    // Interrupted (KeyboardInterrupt) at its timeout; the session lives unless the turn did
    // not stop within the backend's grace period. Say which.
    std::cerr << "enclave: turn " << display_member(a->json, "turn", "?") << " timed out";
    if (auto s = call(*api, "GET", "/v1/sessions/" + o.positional[0])) {
      if (get_string(s->json, "phase") == "running")
        std::cerr << " and was interrupted; session " << o.positional[0] << " goes on";
      else
        std::cerr << "; session " << o.positional[0] << " is " << get_string(s->json, "phase")
                  << (has_value(s->json, "killReason")
                          ? " (" + get_string(s->json, "killReason") + ")"
                          : std::string());
    }
    std::cerr << "\n";
    return 124;
  }
  int code_out = static_cast<int>(get_number(a->json, "exitCode"));
  return code_out < 0 || code_out > 255 ? 1 : code_out;
}

int cmd_get(const Args& args) {
  return simple(args, "enclave get SESSION [--json]", "GET", "", describe_object);
}

int cmd_kill(const Args& args) {
  return simple(args, "enclave kill SESSION [--json]", "DELETE", "", describe_object);
}

int cmd_audit(const Args& args) {
  return simple(args, "enclave audit SESSION [--json]", "GET", "/audit", describe_audit);
}

}  // namespace enclave::cli
