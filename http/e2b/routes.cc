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
  if (starts_with(path, "/filesystem.Filesystem/")) {
    std::string_view rpc = path.substr(23);
    for (std::string_view known : {"Stat", "ListDir", "MakeDir", "Move", "Remove"}) {
      if (rpc != known) continue;
      m.rpc = std::string(rpc);
      return pick("POST", Endpoint::kFilesystemRpc);
    }
  }
  if (path == "/filesystem.Filesystem/WatchDir") return pick("POST", Endpoint::kWatchDir);
  if (path == "/files") {
    if (method == "POST") return pick("POST", Endpoint::kWriteFiles);
    return pick("GET", Endpoint::kReadFile);
  }
  if (starts_with(path, "/process.Process/") || starts_with(path, "/filesystem.Filesystem/")) {
    m.endpoint = Endpoint::kUnsupportedRpc;
    return m;
  }
  if (path == "/contexts") {
    if (method == "POST") return pick("POST", Endpoint::kCreateContext);
    return pick("GET", Endpoint::kListContexts);
  }
  if (starts_with(path, "/contexts/")) {
    std::string_view rest = path.substr(10);
    size_t slash = rest.find('/');
    m.context_id = std::string(rest.substr(0, slash));
    if (m.context_id.empty()) {
      m.endpoint = Endpoint::kUnsupported;
      return m;
    }
    if (slash == std::string_view::npos) return pick("DELETE", Endpoint::kRemoveContext);
    if (rest.substr(slash) == "/restart") return pick("POST", Endpoint::kRestartContext);
    m.endpoint = Endpoint::kUnsupported;
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
      starts_with(path, "/templates") || starts_with(path, "/files/") ||
      starts_with(path, "/volumes") || starts_with(path, "/snapshots")) {
    m.endpoint = Endpoint::kUnsupported;
    return m;
  }
  if (path == "/execute") return pick("POST", Endpoint::kExecute);
  if (path == "/health") return pick("GET", Endpoint::kHealth);
  return m;
}

bool streams_body(std::string_view method, std::string_view target) {
  return match_endpoint(method, target.substr(0, target.find('?'))).endpoint ==
         Endpoint::kWriteFiles;
}

}  // namespace enclave::http::e2b
