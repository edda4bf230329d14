// Who is asking and where we listen: API-key extraction from headers, listen-address parsing and
// the loopback test that guards `--auth disabled`. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace enclave::http {

// The API key presented by a request: `Authorization: Bearer <key>` (scheme case-insensitive),
// else `X-API-KEY: <key>` (E2B compatibility). nullopt when neither carries a non-empty key, or
// when Authorization uses another scheme.
std::optional<std::string> api_key_from_headers(std::string_view authorization,
                                                std::string_view x_api_key);

struct ListenAddress {
  std::string host;  // "127.0.0.1", "::1", "0.0.0.0", "localhost"
  uint16_t port = 0;
};
// "HOST:PORT" or "[V6]:PORT"; port 0..65535 (0: any free port).
std::optional<ListenAddress> parse_listen(std::string_view text);

// Whether `host` is a loopback address: 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or "localhost".
bool is_loopback(std::string_view host);

}  // namespace enclave::http
