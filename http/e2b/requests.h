// The E2B calls' request bodies, checked and turned into plain structs: what the adapter needs,
// with every refusal a 400 that names the field. Fields Enclave cannot honour are
// refused by name rather than ignored. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/api.pb.h"
#include "events/error.h"
#include "events/requests/file_path.h"

namespace enclave::http::e2b {

// What Enclave offers for POST /sandboxes: one Python sandbox, under either of these names.
constexpr std::string_view kDefaultTemplate = "code-interpreter-v1";
// code-interpreter-v1, code-interpreter, base: the default image. Any other template is an
// image name.
bool is_builtin_template(const std::string& template_id);
// One turn (a runCode or a command) may run this long before the sandbox is killed
// (wall_clock_exceeded), as with any Enclave turn.
constexpr int32_t kTurnSeconds = 300;
// The E2B SDKs' own default sandbox timeout.
constexpr int32_t kDefaultTimeoutSeconds = 300;

struct SandboxPolicy {
  int32_t max_timeout_seconds = 1800;  // the server's interactive max lifetime
  // Where a sandbox that asks for allow_internet_access may connect ("host:port" entries);
  // empty: nowhere — the sandbox gets deny-all egress like any other. (The request cannot be
  // refused: the Python SDK sends allow_internet_access: true unless told otherwise.)
  std::vector<std::string> internet_allow;
};

struct SandboxSpec {
  std::string template_id;
  int32_t timeout_seconds = kDefaultTimeoutSeconds;
  std::map<std::string, std::string> env;
  bool internet = false;  // allow_internet_access asked for and the policy has an allow list
};

// POST /sandboxes | /v2/sandboxes.
[[nodiscard]] Result<SandboxSpec> parse_new_sandbox(std::string_view body,
                                                    const SandboxPolicy& policy);

// The interactive Enclave session an E2B sandbox is: Python, deny-all egress (or the policy's
// allow list when internet access was granted), env, turns bounded by kTurnSeconds, named
// "e2b:<template>".
api::CreateSessionRequest to_session_request(const SandboxSpec& spec, const SandboxPolicy& policy);

// POST /sandboxes/{id}/timeout: the new lifetime in seconds from now (1..max_timeout_seconds).
[[nodiscard]] Result<int32_t> parse_set_timeout(std::string_view body, const SandboxPolicy& policy);

struct CellRequest {
  std::string code;
  std::map<std::string, std::string> env;
  // The code context it runs in (kernel_code.h): context_id as sent, else the language's default
  // ("default" for Python, "default-javascript", "default-bash").
  std::string context = "default";
};

// An E2B language name as Enclave's: python; js or javascript → javascript; bash. Else nullopt.
std::optional<std::string> e2b_language(std::string_view language);

// The language of a code context id ("default", "default-<language>", "<language>-<16 hex>"),
// or nullopt when `id` cannot be a context's.
std::optional<std::string> context_language(std::string_view id);

// POST /execute. `language` and `context_id` pick the context; env_vars apply to Python cells.
[[nodiscard]] Result<CellRequest> parse_execute(std::string_view body);

struct ContextRequest {
  std::string language = "python";
  std::optional<std::string> cwd;  // absolute, ≤ 1024 bytes
};

// POST /contexts.
[[nodiscard]] Result<ContextRequest> parse_new_context(std::string_view body);

struct CommandRequest {
  std::vector<std::string> argv;  // process.cmd, then process.args
  std::map<std::string, std::string> env;
  std::optional<std::string> cwd;
};

// POST /process.Process/Start: one Connect envelope holding a process.StartRequest as JSON.
[[nodiscard]] Result<CommandRequest> parse_start_process(std::string_view body);

// An environment variable map as the kernel can set it: names [A-Za-z_][A-Za-z0-9_]* (≤ 128),
// values without NUL, at most 64 entries. Errors name `field` + "." + the variable.
[[nodiscard]] std::optional<Error> check_env(const std::map<std::string, std::string>& env,
                                             const std::string& field);

// A path as the SDKs send it (files.*), checked: "" and "~" are /home/user; "~/x" and "x" are
// /home/user/x; absolute paths as they are. Then the native rules (events/requests/file_path.h).
// Errors: 400 path_forbidden naming `field` (outside the session's directories, "..", NUL, …).
[[nodiscard]] Result<files::SessionPath> sandbox_path(std::string_view path,
                                                      const std::string& field = "path");

}  // namespace enclave::http::e2b
