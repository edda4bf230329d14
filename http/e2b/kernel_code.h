// What an E2B call runs in the sandbox's Python kernel, and how its outcome is read back.
// Enclave's kernel runs a turn's code and reports stdout, stderr and `enclave.result()`; the
// code interpreter's semantics (the value of a trailing expression, an exception as a structured
// error) and envd's commands are built as a small Python wrapper around the caller's code, so
// the kernel and the backends stay as they are. The caller's text reaches the wrapper as base64
// of a JSON document: no quoting of user input into Python source. Pure.
//
// Cells and context calls hand their arguments to kernel_contexts.py, which the kernel loads once
// as a module outside the workload's namespace: a cell of the default context runs in the
// session's one namespace (variables persist across cells like a notebook); the wrapper deletes
// its own helper name afterwards and reports through `enclave.result()` exactly one object
// `{"e2b": {...}}` — so a cell's own enclave.result() is overridden.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/error.h"

namespace google::protobuf {
class Struct;
class Value;
}  // namespace google::protobuf

namespace enclave::http::e2b {

// Python for one notebook-style cell of `code` with `env` set in os.environ for its duration, in
// code context `context` (kernel_contexts.py): "default" is the kernel's own Python namespace;
// "default-javascript" / "default-bash" are started on first use; others come from
// create_context_turn. Reports {"e2b":{"text"?:the trailing expression's repr (Python) or
// completion value (JavaScript), if any}} or {"e2b":{"error":{"name","value","traceback"}}} (a
// SyntaxError, a thrown JavaScript error, a Bash status other than 0, an unknown context).
// Texts are capped so the report stays under the kernel's 1 MiB result bound.
std::string cell_turn(std::string_view code, const std::map<std::string, std::string>& env,
                      const std::string& context = "default");

// Python for the E2B context calls. create: a context of `language` (python, javascript, bash)
// in `cwd` → {"e2b":{"context":{id,language,cwd}}}; list → {"e2b":{"contexts":[…]}};
// remove / restart one → {"e2b":{}}. Each failure is {"e2b":{"error":…}}.
std::string create_context_turn(const std::string& language, const std::optional<std::string>& cwd);
std::string list_contexts_turn();
std::string remove_context_turn(const std::string& id);
std::string restart_context_turn(const std::string& id);

// Python that runs `argv` as a child process (no shell of ours: argv[0] is exec'd; the SDK
// sends /bin/bash -l -c CMD) with the kernel's environment plus `env`, in `cwd` when given
// (else /home/user when the sandbox has it, as on E2B; else /tmp), stdin from /dev/null, streaming
// its stdout and stderr as the turn's own. Reports {"e2b":{"exitCode":N}} (128+signal for a signal)
// or {"e2b":{"exitCode":127, "error":…}} when it could not be started.
std::string command_turn(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env,
                         const std::optional<std::string>& cwd);

struct CellOutcome {
  std::optional<std::string> text;  // the trailing expression's repr
  bool failed = false;              // an exception: name/value/traceback below
  std::string error_name, error_value, traceback;
};

struct CommandOutcome {
  int32_t exit_code = 0;
  std::string error;  // why it could not be started, or empty
};

// The outcome a wrapper reported as the turn's result (ExecTurnResult.json). kInternal when the
// turn ended without the wrapper's report (e.g. the kernel died or the workload replaced
// `enclave`).
[[nodiscard]] Result<CellOutcome> read_cell_outcome(const google::protobuf::Value& turn_json);
// The report of a context call: the object inside {"e2b": …}; its error as an Error (an unknown
// context 404, too many 409, others 400); no report → kInternal.
[[nodiscard]] Result<google::protobuf::Struct> read_context_report(
    const google::protobuf::Value& turn_json);
[[nodiscard]] Result<CommandOutcome> read_command_outcome(const google::protobuf::Value& turn_json);

}  // namespace enclave::http::e2b
