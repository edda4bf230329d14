// A minimal blocking HTTP/1.1 client over POSIX sockets (plain http only), for the CLI and the
// demo drivers. One connection per request (Connection: close).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace enclave::cli {

struct Url {
  std::string host;  // "127.0.0.1", "localhost", "::1"
  uint16_t port = 80;
  std::string base_path;  // "" or "/prefix" (no trailing slash)
};

// "http://HOST[:PORT][/prefix]" (IPv6 host in brackets). nullopt with `error` otherwise.
std::optional<Url> parse_url(const std::string& text, std::string* error);

struct HttpResponse {
  int status = 0;     // 0: no answer (see `error`)
  std::string error;  // transport failure, for people
  std::string content_type;
  std::string body;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// Sends one request and reads the whole answer (Content-Length, chunked or until close).
// `timeout_ms` bounds connecting and each socket read/write.
HttpResponse http_request(const Url& url, const std::string& method, const std::string& path,
                          const std::string& body, const Headers& headers, int timeout_ms = 60'000);

// Sends a GET and hands the body's bytes to `on_data` as they arrive (for Server-Sent Events);
// returns when the server closes, on error, or when `on_data` returns false. `status` is set
// from the response head before the first call to on_data.
HttpResponse http_stream(const Url& url, const std::string& path, const Headers& headers,
                         const std::function<bool(const std::string& chunk)>& on_data,
                         int timeout_ms = 600'000);

}  // namespace enclave::cli
