// enclave keys create | list | revoke: the caller's org's API keys, through the API (scope
// admin), while the server runs. (`enclaved keys …` does the same offline, server stopped.)
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"

namespace enclave::cli {

namespace {

constexpr const char* kUsage =
    "enclave keys create --role owner|member|viewer|metrics [--name NAME] [--e2b] [--json] | "
    "keys list [--json] | keys revoke KEYID [--json]";

int create(const Options& o) {
  if (!o.positional.empty()) return usage(kUsage, "keys create takes no argument");
  if (!o.has("role")) return usage(kUsage, "keys create: --role is required");
  JsonValue body;
  auto& f = *body.mutable_struct_value()->mutable_fields();
  f["role"].set_string_value(o.get("role"));
  if (o.has("name")) f["name"].set_string_value(o.get("name"));
  if (o.flag("e2b")) f["e2b"].set_bool_value(true);
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/keys", to_json_text(body));
  if (!a) return 1;
  if (o.flag("json")) {
    std::cout << to_json_text(a->json) << "\n";
    return 0;
  }
  // The secret is the last token of the output (scripts take it with awk '{t=$NF}').
  std::cout << "API key " << display_member(a->json, "id") << " for org "
            << display_member(a->json, "orgId") << ", role " << display_member(a->json, "role")
            << " (shown once; only its hash is stored):\n"
            << display_member(a->json, "key") << "\n";
  return 0;
}

int list(const Options& o) {
  if (!o.positional.empty()) return usage(kUsage, "keys list takes no argument");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "GET", "/v1/keys");
  if (!a) return 1;
  if (o.flag("json")) {
    std::cout << to_json_text(a->json) << "\n";
    return 0;
  }
  std::printf("%-18s %-8s %-26s %-8s %s\n", "KEY ID", "ROLE", "CREATED", "STATUS", "NAME");
  if (const JsonValue* keys = member(a->json, "keys");
      keys && keys->kind_case() == JsonValue::kListValue) {
    for (const auto& k : keys->list_value().values()) {
      std::printf("%-18s %-8s %-26s %-8s %s\n", display_member(k, "id").c_str(),
                  display_member(k, "role").c_str(), display_member(k, "createdAt").c_str(),
                  get_bool(k, "revoked") ? "revoked" : "active", display_member(k, "name").c_str());
    }
  }
  return 0;
}

int revoke(const Options& o) {
  if (o.positional.size() != 1) return usage(kUsage, "keys revoke: expected exactly one KEYID");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  // Key ids are hex; anything else is not sent into the path.
  for (char c : o.positional[0]) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return usage(kUsage, "a KEYID is lowercase hex (see enclave keys list)");
  }
  auto a = call(*api, "DELETE", "/v1/keys/" + o.positional[0]);
  if (!a) return 1;
  if (o.flag("json"))
    std::cout << to_json_text(a->json) << "\n";
  else
    std::cout << "revoked " << display_member(a->json, "id") << "\n";
  return 0;
}

}  // namespace

int cmd_keys(const Args& args) {
  for (const auto& w : args.words) {
    if (w == "--help" || w == "-h") {
      std::cout << "usage: " << kUsage << "\n";
      return 0;
    }
  }
  if (args.words.empty()) return usage(kUsage, "expected create, list or revoke");
  std::vector<std::string> rest(args.words.begin() + 1, args.words.end());
  Options o = parse_options(rest, {"role", "name"}, {"json", "e2b"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  const std::string& verb = args.words[0];
  if (verb == "create") return create(o);
  if (verb == "list") return list(o);
  if (verb == "revoke") return revoke(o);
  return usage(kUsage, "unknown keys verb '" + verb + "' (create, list, revoke)");
}

}  // namespace enclave::cli
