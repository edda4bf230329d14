// `enclave demo fleets-at-scale|interactive-session`, and the report both drivers write.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/demo.h"
#include "cli/json.h"

namespace enclave::cli {

int cmd_demo(const Args& args) {
  const std::string use =
      "demo fleets-at-scale [--shards N] [--no-hostile] [--multi-org] "
      "[--ceiling N] [--evidence DIR] | demo interactive-session [--idle-ttl S] "
      "[--evidence DIR]";
  if (args.words.empty()) return usage(use);
  Args rest{std::vector<std::string>(args.words.begin() + 1, args.words.end())};
  if (args.words[0] == "fleets-at-scale") return demo_fleets_at_scale(rest);
  if (args.words[0] == "interactive-session") return demo_interactive_session(rest);
  return usage(use, "unknown scenario '" + args.words[0] + "'");
}

bool DemoReport::check(const std::string& name, bool ok, const std::string& detail) {
  checks_.push_back({name, detail, ok});
  std::cout << (ok ? "PASS  " : "FAIL  ") << name << " — " << detail << std::endl;
  return ok;
}

int DemoReport::passed() const {
  int n = 0;
  for (const auto& c : checks_) n += c.ok;
  return n;
}

std::vector<std::string> DemoReport::failures() const {
  std::vector<std::string> out;
  for (const auto& c : checks_)
    if (!c.ok) out.push_back(c.name + ": " + c.detail);
  return out;
}

bool DemoReport::write(const std::string& dir, const std::string& extra_summary,
                       const std::string& outcome, const std::string& md_outcome) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string failures = "[";
  for (const auto& f : this->failures())
    failures += (failures.size() > 1 ? "," : "") + json_quote(f);
  failures += "]";
  std::string checks = "[";
  for (const auto& c : checks_)
    checks += (checks.size() > 1 ? "," : "") + std::string("{\"name\":") + json_quote(c.name) +
              ",\"passed\":" + (c.ok ? "true" : "false") + ",\"detail\":" + json_quote(c.detail) +
              "}";
  checks += "]";
  std::string summary = "{\"scenario\":" + json_quote(name_) +
                        ",\"passed\":" + std::to_string(passed()) +
                        ",\"total\":" + std::to_string(total()) + ",\"failures\":" + failures;
  if (!extra_summary.empty()) summary += "," + extra_summary;
  summary += "}";
  std::string base = dir + "/" + name_ + "-report";
  std::ofstream j(base + ".json");
  j << "{\"summary\":" << summary << ",\"outcome\":" << outcome << ",\"checks\":" << checks
    << "}\n";
  std::ofstream m(base + ".md");
  m << "# " << name_ << ": " << passed() << "/" << total() << " checks passed\n\n"
    << md_outcome << "\n| check | result | detail |\n|---|---|---|\n";
  for (const auto& c : checks_)
    m << "| " << c.name << " | " << (c.ok ? "PASS" : "**FAIL**") << " | " << c.detail << " |\n";
  if (!j || !m) {
    std::cerr << "enclave: cannot write the report under " << dir << "\n";
    return false;
  }
  std::cout << "evidence: " << base << ".json, " << base << ".md" << std::endl;
  return true;
}

HttpResponse demo_request(const ApiClient& api, const std::string& method, const std::string& path,
                          const std::string& body, const std::string& key_override) {
  Headers h;
  const std::string& key = key_override.empty() ? api.api_key : key_override;
  if (!key.empty()) h.emplace_back("Authorization", "Bearer " + key);
  if (!body.empty()) h.emplace_back("Content-Type", "application/json");
  return http_request(api.url, method, path, body, h);
}

}  // namespace enclave::cli
