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
  kCreateContext,   // POST /contexts
  kListContexts,    // GET /contexts
  kRemoveContext,   // DELETE /contexts/{id}
  kRestartContext,  // POST /contexts/{id}/restart
  kReadFile,        // GET /files (envd: files.read)
  kWriteFiles,      // POST /files (envd: files.write)
  kFilesystemRpc,   // POST /filesystem.Filesystem/{Stat,ListDir,MakeDir,Move,Remove}
  kWatchDir,        // POST /filesystem.Filesystem/WatchDir (server stream)
  kUnsupportedRpc,  // any other envd Connect method (/process.Process/*, WatchDir, watchers, …)
  kUnsupported,     // other E2B paths Enclave does not offer (templates, volumes, …)
  kBadMethod,       // a known E2B path with another method
};

struct EndpointMatch {
  Endpoint endpoint = Endpoint::kNone;
  std::string sandbox_id;  // the sandbox endpoints': the {id} segment as sent
  std::string context_id;  // kRemoveContext, kRestartContext: the {id} segment as sent
  std::string rpc;         // kFilesystemRpc: the method ("Stat", "ListDir", …)
};

// Matches a request path (no query string) and method.
EndpointMatch match_endpoint(std::string_view method, std::string_view path);

// Whether the server should stream this request's body to the adapter instead of reading it
// whole (envd's POST /files: uploads are bounded by --max-upload-mb, not the 1 MiB body limit).
bool streams_body(std::string_view method, std::string_view target);

}  // namespace enclave::http::e2b
