// JSON string literals and UTF-8 checks (pure), for every place that writes JSON by hand: the
// HTTP layer's errors and views, the E2B adapter, the OCI bundle a sandbox starts from.
#pragma once

#include <string>
#include <string_view>

namespace enclave {

// A JSON string literal (with quotes) for `s`; invalid UTF-8 becomes U+FFFD, so the output is
// always valid JSON whatever bytes came in.
std::string json_quote(std::string_view s);

// `s` with every invalid UTF-8 sequence (incl. encoded surrogates, overlongs) replaced by U+FFFD.
std::string sanitize_utf8(std::string_view s);
bool valid_utf8(std::string_view s);

}  // namespace enclave
