// The reference scenarios (`enclave demo …`): drivers that run against a live server and check
// what Enclave must prove. Every check is an assertion; a driver exits 0 only if all pass, and
// writes DIR/<name>-report.json and .md.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/args.h"

namespace enclave::cli {

int demo_fleets_at_scale(const Args& args);
int demo_interactive_session(const Args& args);

// A driver's checks and the evidence it writes.
class DemoReport {
 public:
  explicit DemoReport(std::string name) : name_(std::move(name)) {}
  // Records a check; prints "PASS name — detail" or "FAIL …" as it goes.
  bool check(const std::string& name, bool ok, const std::string& detail);
  int passed() const;
  int total() const { return static_cast<int>(checks_.size()); }
  std::vector<std::string> failures() const;
  // Writes <dir>/<name>-report.json ({"summary":{…,extra_summary},"outcome":outcome_json,
  // "checks":[…]}) and .md. Returns false (with a message on stderr) if it cannot.
  bool write(const std::string& dir, const std::string& extra_summary_json,
             const std::string& outcome_json, const std::string& md_outcome) const;

 private:
  struct Check {
    std::string name, detail;
    bool ok;
  };
  std::string name_;
  std::vector<Check> checks_;
};

// Every response body a driver saw, for the "no credential anywhere" check.
struct Seen {
  std::string text;
  void add(const std::string& body) {
    text += body;
    text += '\n';
  }
  bool has_jwt() const { return text.find("eyJ") != std::string::npos; }
};

// One request with the client's key (or `key_override`), never printing; the raw answer.
HttpResponse demo_request(const ApiClient& api, const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& key_override = "");

}  // namespace enclave::cli
