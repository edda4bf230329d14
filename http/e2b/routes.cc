#include "http/e2b/routes.h"

namespace enclave::http::e2b {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

EndpointMatch match_endpoint(std::string_view method, std::string_view path) {
  EndpointMatch m;
  auto pick = [&](std::string_view want, Endpoint e) {
    m.endpoint = method == want ? e : Endpoint::kBadMethod;
    return m;
  };
  if (path == "/sandboxes" || path == "/v2/sandboxes") {
    if (method == "POST") return pick("POST", Endpoint::kCreateSandbox);
    return pick("GET", Endpoint::kListSandboxes);
  }
  if (starts_with(path, "/sandboxes/")) {
    std::string_view rest = path.substr(11);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0) {
      const std::string_view verb = rest.substr(slash);
      const Endpoint e = verb == "/timeout"  ? Endpoint::kSetTimeout
                         : verb == "/pause"  ? Endpoint::kPauseSandbox
                         : verb == "/resume" ? Endpoint::kConnectSandbox
                                             : Endpoint::kNone;
      if (e != Endpoint::kNone) {
        m.sandbox_id = std::string(rest.substr(0, slash));
        return pick("POST", e);
      }
    }
    if (rest.empty() || slash != std::string_view::npos) {
      m.endpoint = Endpoint::kUnsupported;  // /pause, /metrics, /connect, /refreshes, …
      return m;
    }
    m.sandbox_id = std::string(rest);
    if (method == "DELETE") return pick("DELETE", Endpoint::kKillSandbox);
    return pick("GET", Endpoint::kGetSandbox);
  }
  if (path == "/process.Process/Start") return pick("POST", Endpoint::kStartProcess);
  if (starts_with(path, "/process.Process/") || starts_with(path, "/filesystem.Filesystem/")) {
    m.endpoint = Endpoint::kUnsupportedRpc;
    return m;
  }
  if (starts_with(path, "/v2/sandboxes/")) {
    std::string_view rest = path.substr(14);
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && rest.substr(slash) == "/connect") {
      m.sandbox_id = std::string(rest.substr(0, slash));
      return pick("POST", Endpoint::kConnectSandbox);
    }
  }
  if (starts_with(path, "/v2/sandboxes/") || starts_with(path, "/v3/sandboxes") ||
      starts_with(path, "/templates") || starts_with(path, "/contexts") || path == "/files" ||
      starts_with(path, "/files/") || starts_with(path, "/volumes") ||
      starts_with(path, "/snapshots")) {
    m.endpoint = Endpoint::kUnsupported;
    return m;
  }
  if (path == "/execute") return pick("POST", Endpoint::kExecute);
  if (path == "/health") return pick("GET", Endpoint::kHealth);
  return m;
}

}  // namespace enclave::http::e2b
