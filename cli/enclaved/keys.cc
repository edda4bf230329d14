// `enclaved keys create|list|revoke`: API keys administered offline on a data dir.
#include <cstdio>
#include <iostream>

#include "actors/key_admin.h"
#include "cli/enclaved/commands.h"
#include "events/codec/printable.h"

namespace enclave::enclaved {

int keys_main(const std::vector<std::string>& words) {
  if (words.empty()) usage_error("keys: expected create, list or revoke");
  std::string verb = words[0];
  cli::Options a =
      parse_or_exit({words.begin() + 1, words.end()}, {"data-dir", "org", "role"}, {"e2b"});
  std::string data_dir = data_dir_of(a);
  if (verb == "create") {
    if (!a.positional.empty()) usage_error("keys create: unexpected argument " + a.positional[0]);
    std::string org = a.get("org");
    std::string role = a.get("role");
    if (org.empty()) usage_error("keys create: --org is required");
    if (role.empty())
      usage_error("keys create: --role is required (owner, member, viewer or metrics)");
    auto r = keys::create(data_dir, org, role, a.flag("e2b"));
    if (!r.ok()) {
      std::cerr << "enclaved keys create: " << r.error().message << "\n";
      return 1;
    }
    // The secret is the last token of the output (scripts take it with awk '{t=$NF}').
    std::cout << "API key for org " << org << ", role " << role
              << " (shown once; only its hash is stored):\n"
              << *r << "\n";
    return 0;
  }
  if (verb == "list") {
    if (!a.positional.empty()) usage_error("keys list: unexpected argument " + a.positional[0]);
    auto r = keys::list(data_dir);
    if (!r.ok()) {
      std::cerr << "enclaved keys list: " << r.error().message << "\n";
      return 1;
    }
    std::printf("%-34s %-20s %-8s %-26s %s\n", "KEY ID", "ORG", "ROLE", "CREATED", "STATUS");
    for (const auto& k : *r) {
      // Escaped: a data dir is hostile input, its strings may hold terminal controls.
      std::printf("%-34s %-20s %-8s %-26s %s\n", printable(k.key_id).c_str(),
                  printable(k.org_id).c_str(), printable(k.role).c_str(), k.created_at.c_str(),
                  k.revoked ? "revoked" : "active");
    }
    return 0;
  }
  if (verb == "revoke") {
    if (a.positional.size() != 1) usage_error("keys revoke: expected exactly one KEYID");
    auto r = keys::revoke(data_dir, a.positional[0]);
    if (!r.ok()) {
      std::cerr << "enclaved keys revoke: " << r.error().message << "\n";
      return 1;
    }
    std::cout << (*r ? "revoked " : "already revoked ") << a.positional[0] << "\n";
    return 0;
  }
  usage_error("keys: unknown verb '" + verb + "' (create, list, revoke)");
}

}  // namespace enclave::enclaved
