// enclave secrets set | list | rm: the caller's org's secrets, through the API (scope admin).
// The value is read from stdin or a file, never from the command line (argv is visible to every
// local user in /proc), and no command prints it.
#include <cstdio>
#include <iostream>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "events/secrets.h"

namespace enclave::cli {

namespace {

constexpr const char* kUsage =
    "enclave secrets set NAME --host HOST:PORT… [--header H] [--format F] [--value-file FILE|-] "
    "[--json] | secrets list [--json] | secrets rm NAME [--json]";

int set(const Options& o) {
  if (o.positional.size() != 1) return usage(kUsage, "secrets set: expected exactly one NAME");
  if (!o.has("host")) return usage(kUsage, "secrets set: at least one --host HOST:PORT");
  std::string value, err;
  if (!read_input(o.get("value-file", "-"), &value, &err)) return fail(err);
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  JsonValue body;
  auto& f = *body.mutable_struct_value()->mutable_fields();
  f["name"].set_string_value(o.positional[0]);
  f["value"].set_string_value(value);
  auto* hosts = f["hosts"].mutable_list_value();
  for (const auto& h : o.all("host")) hosts->add_values()->set_string_value(h);
  if (o.has("header")) f["header"].set_string_value(o.get("header"));
  if (o.has("format")) f["format"].set_string_value(o.get("format"));
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "POST", "/v1/secrets", to_json_text(body));
  if (!a) return 1;
  if (o.flag("json")) {
    std::cout << to_json_text(a->json) << "\n";
    return 0;
  }
  std::cout << "secret " << display_member(a->json, "name") << " set (header "
            << display_member(a->json, "header") << "; the value is never shown again)\n";
  return 0;
}

int list(const Options& o) {
  if (!o.positional.empty()) return usage(kUsage, "secrets list takes no argument");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "GET", "/v1/secrets");
  if (!a) return 1;
  if (o.flag("json")) {
    std::cout << to_json_text(a->json) << "\n";
    return 0;
  }
  std::printf("%-24s %-16s %-26s %s\n", "NAME", "HEADER", "CREATED", "HOSTS");
  if (const JsonValue* list = member(a->json, "secrets");
      list && list->kind_case() == JsonValue::kListValue) {
    for (const auto& s : list->list_value().values()) {
      std::string hosts;
      if (const JsonValue* h = member(s, "hosts"); h && h->kind_case() == JsonValue::kListValue)
        for (const auto& v : h->list_value().values())
          hosts += (hosts.empty() ? "" : ",") + display(v);
      std::printf("%-24s %-16s %-26s %s\n", display_member(s, "name").c_str(),
                  display_member(s, "header").c_str(), display_member(s, "createdAt").c_str(),
                  hosts.c_str());
    }
  }
  return 0;
}

int rm(const Options& o) {
  if (o.positional.size() != 1) return usage(kUsage, "secrets rm: expected exactly one NAME");
  if (!secrets::valid_name(o.positional[0]))
    return usage(kUsage, "a secret NAME is 1..64 characters of [A-Za-z0-9_.-]");
  std::string err;
  auto api = client_from_env(&err);
  if (!api) return fail(err);
  auto a = call(*api, "DELETE", "/v1/secrets/" + o.positional[0]);
  if (!a) return 1;
  if (o.flag("json"))
    std::cout << to_json_text(a->json) << "\n";
  else
    std::cout << "deleted " << display_member(a->json, "name") << "\n";
  return 0;
}

}  // namespace

int cmd_secrets(const Args& args) {
  if (wants_help(args.words)) {
    std::cout << "usage: " << kUsage << "\n"
              << "The value is read from --value-file FILE or stdin (default), never argv.\n";
    return 0;
  }
  if (args.words.empty()) return usage(kUsage, "expected set, list or rm");
  std::vector<std::string> rest(args.words.begin() + 1, args.words.end());
  Options o = parse_options(rest, {"host", "header", "format", "value-file"}, {"json"});
  if (!o.error.empty()) return usage(kUsage, o.error);
  const std::string& verb = args.words[0];
  if (verb == "set") return set(o);
  if (verb == "list") return list(o);
  if (verb == "rm") return rm(o);
  return usage(kUsage, "unknown secrets verb '" + verb + "' (set, list, rm)");
}

}  // namespace enclave::cli
