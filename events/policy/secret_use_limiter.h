// The rate limit of `secret_used` audit events (pure; the caller passes the time): at most one
// event per (secret, host, port) and second. Uses inside that second are counted, and the count
// rides on the next event of the same key, or on flush() when the sandbox ends, so the audit's
// counts add up to every request the proxy injected into.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace enclave::secrets {

struct Use {
  std::string name, host;
  uint32_t port = 0;
  std::string method, path;  // of the request (path without its query)
  uint32_t count = 1;        // requests this report stands for
};

class UseLimiter {
 public:
  static constexpr int64_t kWindowMs = 1000;

  // A use at `now_ms`: reported (with the uses held back since the last report of its key) when
  // the key's last report is a second old or more, else held back and nullopt.
  std::optional<Use> use(Use u, int64_t now_ms);
  // The uses still held back, one report per key (at the end).
  std::vector<Use> flush();

 private:
  struct Slot {
    int64_t reported_ms = 0;
    uint32_t held = 0;
    Use last;  // the last use held back (its method and path are reported on flush)
  };
  // Keys are bounded by the session: ≤ 16 secrets × ≤ 16 hosts.
  std::map<std::tuple<std::string, std::string, uint32_t>, Slot> slots_;
};

}  // namespace enclave::secrets
