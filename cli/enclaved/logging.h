// enclaved's logger, set up once before anything logs.
#pragma once

#include <string>

namespace enclave::enclaved {

// The default spdlog logger on stderr: `format` text or json, `level` as spdlog names it. A bad
// value is a usage error (exit 2).
void setup_logging(const std::string& format, const std::string& level);

}  // namespace enclave::enclaved
