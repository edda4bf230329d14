// One connection of the egress proxy to a host a session's secret is for (secrets issue): the
// proxy reads every request the sandbox sends on it, drops any header of a secret's name the
// workload sent, sets the secret's header (read at that moment: a deleted secret is no longer
// set), and forwards the request to the upstream; answers flow back untouched. HTTPS: the
// sandbox's TLS ends here with a leaf of the server's egress CA, and a TLS connection of our own
// goes upstream, verifying the real certificate (a failure is fail-closed: nothing is sent).
//
// Every byte from the sandbox is hostile: heads are parsed strictly and bounded (http1_request.h),
// at most `max_requests` requests per connection, buffers bounded per direction, an idle
// connection is closed. HTTP/2 and protocol upgrades (WebSocket) are refused with a reason the
// audit records.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/gvisor/http1_request.h"
#include "events/policy/secret_use_limiter.h"

namespace enclave::backends::gvisor {

struct InterceptSetup {
  std::string host;  // canonical, as on the allow-list
  uint32_t port = 0;
  bool tls = true;                         // CONNECT (TLS inside) or plain absolute-URI HTTP
  std::vector<SecretBinding> bindings;     // the session's secrets for host:port
  SecretResolver resolve;                  // the header value now, or nullopt once deleted
  std::shared_ptr<SSL_CTX> client_ctx;     // tls: presents a leaf for `host`
  std::shared_ptr<SSL_CTX> upstream_ctx;   // tls: verifies the upstream's certificate
  std::function<void(secrets::Use)> used;  // every injection (not yet limited)
  std::function<void(const std::string& reason)> refused;  // audited as egress_denied
  int stop_fd = -1;                                        // readable: stop now
  http1::Limits limits;
  uint32_t max_requests = 1000;  // per connection
  size_t max_buffer = 64 << 10;  // per direction
  int handshake_timeout_ms = 10'000;
  int idle_timeout_ms = 300'000;
};

// Serves one connection until a side ends, it idles, or `stop_fd` is readable; closes both fds.
// tls: answers the CONNECT itself ("200 Connection Established") before the handshakes.
// `pending`: what the client already sent (plain HTTP: the first request and what followed; a
// CONNECT must have sent nothing after its head).
void serve_intercepted(int client_fd, int upstream_fd, std::string pending,
                       const InterceptSetup& setup);

}  // namespace enclave::backends::gvisor
