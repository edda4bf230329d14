// The HTTP/1.1 server: Boost.Beast, asynchronous, a few io threads, keep-alive, bounded header
// and body sizes, read timeouts, Server-Sent Events with bounded per-client queues. It knows
// nothing of the API: every request goes to a Handler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "events/error.h"
#include "http/request.h"

namespace enclave::http {

struct ServerOptions {
  std::string host = "127.0.0.1";  // an IP literal or "localhost"
  uint16_t port = 8090;            // 0: any free port (see Server::port)
  int io_threads = 2;
  size_t max_header_bytes = 8 * 1024;  // larger request heads: 431
  size_t max_body_bytes = 1 << 20;     // larger bodies: 413 (chunked bodies count decoded bytes)
  int read_timeout_seconds = 30;       // a request must arrive whole within this
  int idle_timeout_seconds = 75;       // keep-alive connections idle longer are closed
  int write_timeout_seconds = 30;      // a client that reads nothing for this long is cut off
  size_t sse_max_items = 1000;         // per-client SSE queue bounds: beyond either, close
  size_t sse_max_bytes = 4 << 20;
  int sse_ping_seconds = 15;  // comment frames keep idle streams alive through proxies
  // Whether a request's body is streamed to its handler (Request::body_channel) instead of read
  // whole under max_body_bytes; the handler bounds it. Null: never.
  std::function<bool(std::string_view method, std::string_view target)> stream_body;
};

class Server {
 public:
  // Binds and listens, then serves on `io_threads` threads until stop(). Error: bad address or
  // the port is taken (kUnavailable, naming the address).
  [[nodiscard]] static Result<std::unique_ptr<Server>> start(const ServerOptions& options,
                                                             Handler handler);
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops accepting and stops the io threads (open connections are dropped when the Server is
  // destroyed). Idempotent.
  void stop();
  ~Server();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave::http
