// Which E2B endpoint a request is for. The control-plane API (`/sandboxes…`, authenticated by the
// org's API key) and the sandbox API the SDKs call at E2B_SANDBOX_URL (`/execute`, envd's
// Connect services, `/health`; authenticated by the sandbox's envdAccessToken) share one
// listener with the native `/v1/…` API, whose paths never collide with these. Pure.
#pragma once

#include <string>
#include <string_view>

namespace enclave::http::e2b {

enum class Endpoint {
  kNone,            // not an E2B path: the native API answers
  kCreateSandbox,   // POST /sandboxes, POST /v2/sandboxes
  kListSandboxes,   // GET /sandboxes, GET /v2/sandboxes
  kGetSandbox,      // GET /sandboxes/{id}
  kKillSandbox,     // DELETE /sandboxes/{id}
  kSetTimeout,      // POST /sandboxes/{id}/timeout
  kPauseSandbox,    // POST /sandboxes/{id}/pause (sbx.pause(), Sandbox.betaPause)
  kConnectSandbox,  // POST /v2/sandboxes/{id}/connect, POST /sandboxes/{id}/resume
  kExecute,         // POST /execute
  kStartProcess,    // POST /process.Process/Start
  kHealth,          // GET /health
  kUnsupportedRpc,  // any other envd Connect method (/process.Process/*, /filesystem.Filesystem/*)
  kUnsupported,     // other E2B paths Enclave does not offer (files, contexts, pause, …)
  kBadMethod,       // a known E2B path with another method
};

struct EndpointMatch {
  Endpoint endpoint = Endpoint::kNone;
  std::string sandbox_id;  // the sandbox endpoints': the {id} segment as sent
};

// Matches a request path (no query string) and method.
EndpointMatch match_endpoint(std::string_view method, std::string_view path);

}  // namespace enclave::http::e2b
