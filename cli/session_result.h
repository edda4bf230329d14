// A session's result as the CLI shows it (`enclave run`, `enclave result`): waiting until the
// server's result is final, and printing output, the enclave.result() value and why it ended.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "cli/api_client.h"

namespace enclave::cli {

// Seconds one `?wait=S` call may take before the CLI asks again (and looks at Ctrl-C).
inline constexpr int kWaitChunkSeconds = 1;

// The session's result until its `final` is true (the workload's whole output is in), through
// GET /v1/sessions/ID/result?wait=S (answered when the session ends; no polling interval), for
// at most `max_wait_ms`. Returns the last result (final or not), or nullopt after an API error
// (already printed). Stops early when `*stop` becomes true.
std::optional<ApiAnswer> await_final_result(const ApiClient& api, const std::string& id,
                                            int max_wait_ms,
                                            const std::atomic<bool>* stop = nullptr);

// The `result` object of a `?wait=S` answer (a Session with its result), as its own answer.
ApiAnswer result_of_wait(const ApiAnswer& session);

// Writes the result's stdout to stdout and stderr to stderr, then, on stderr, the
// enclave.result() value ("enclave: result: {…}") and a note for each truncated stream
// naming the cap.
void print_result(const JsonValue& result);

// "wall_clock_exceeded (limit 2 s)", "memory_exceeded (limit 256 MiB)", … for a killed
// session's view; the bare reason when no limit applies.
std::string kill_reason_text(const JsonValue& session);

}  // namespace enclave::cli
