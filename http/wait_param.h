// The `wait` query parameter of POST /v1/sessions and GET /v1/sessions/{id}/result (issue 24):
// how many seconds the caller is willing to wait for the session to end.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "events/error.h"

namespace enclave::http {

// nullopt: no `wait` parameter (answer at once, as without it). Otherwise its value as
// checked by parse_wait_seconds (events/requests/session_request.h): whole seconds 0..300, else a
// 400 naming `wait`. Other parameters are not looked at.
[[nodiscard]] Result<std::optional<uint32_t>> parse_wait_param(std::string_view query);

}  // namespace enclave::http
