// The built-in dashboard served at /ui/: one self-contained HTML page that reads the public API
// (sessions, fleets, audit, live events, metrics) from the browser with the user's API key.
#pragma once

#include <string_view>

namespace enclave::http {

std::string_view dashboard_html();

}  // namespace enclave::http
