// `enclaved orgs set|list`: orgs' admission settings administered offline on a data dir.
#include <cstdio>
#include <iostream>
#include <optional>

#include "actors/org_admin.h"
#include "cli/enclaved/commands.h"

namespace enclave::enclaved {

namespace {

// 0..max, digits only; a usage error naming the flag otherwise.
int64_t parse_count(const std::string& what, const std::string& text, int64_t max) {
  bool digits = !text.empty() && text.size() <= 18;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (!digits) usage_error(what + " must be an integer, got '" + text + "'");
  int64_t n = std::stoll(text);
  if (n > max) usage_error(what + " must be from 0 to " + std::to_string(max));
  return n;
}

}  // namespace

// Orgs' share of admission (docs/ARCHITECTURE.md, fair admission): offline, like keys.
int orgs_main(const std::vector<std::string>& words) {
  if (words.empty()) usage_error("orgs: expected set or list");
  std::string verb = words[0];
  cli::Options a = parse_or_exit({words.begin() + 1, words.end()},
                                 {"data-dir", "weight", "max-queued", "max-live"}, {});
  std::string data_dir = data_dir_of(a);
  if (verb == "set") {
    if (a.positional.size() != 1) usage_error("orgs set: expected exactly one ORG");
    auto number = [&](const char* flag, int64_t max) -> std::optional<int64_t> {
      if (!a.has(flag)) return std::nullopt;
      return parse_count(std::string("--") + flag, a.get(flag), max);
    };
    auto weight = number("weight", org_settings::kMaxWeight);
    auto max_queued = number("max-queued", org_settings::kMaxQueued);
    auto max_live = number("max-live", org_settings::kMaxLive);
    if (!weight && !max_queued && !max_live)
      usage_error("orgs set: give at least one of --weight, --max-queued, --max-live");
    auto r = orgs::set(data_dir, a.positional[0], weight, max_queued, max_live);
    if (!r.ok()) {
      std::cerr << "enclaved orgs set: " << r.error().message << "\n";
      return 1;
    }
    std::cout << "org " << a.positional[0] << ": weight " << r->weight << ", max queued "
              << r->max_queued << ", max live " << r->max_live << " (0: no limit)\n";
    return 0;
  }
  if (verb == "list") {
    if (!a.positional.empty()) usage_error("orgs list: unexpected argument " + a.positional[0]);
    auto r = orgs::list(data_dir);
    if (!r.ok()) {
      std::cerr << "enclaved orgs list: " << r.error().message << "\n";
      return 1;
    }
    std::printf("%-24s %8s %12s %10s\n", "ORG", "WEIGHT", "MAX QUEUED", "MAX LIVE");
    for (const auto& [org, v] : r->by_org)
      std::printf("%-24s %8u %12u %10u\n", org.c_str(), v.weight, v.max_queued, v.max_live);
    return 0;
  }
  usage_error("orgs: unknown verb '" + verb + "' (set, list)");
}

}  // namespace enclave::enclaved
