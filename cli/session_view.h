// How the CLI shows sessions and audit trails to people.
#pragma once

#include <string>
#include <string_view>

#include "cli/json.h"

namespace enclave::cli {

// succeeded | failed | killed.
bool session_phase_terminal(std::string_view phase);

// "key: value" lines for every top-level member of an object, in a stable order (known
// session fields first).
std::string describe_object(const JsonValue& obj);

// One line per audit event: "seq  at  type  message  {data}".
std::string describe_audit(const JsonValue& trail);

}  // namespace enclave::cli
