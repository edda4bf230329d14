// Egress audit: runsc's remote trace sink. The sandbox connects to our SOCK_SEQPACKET socket
// (--pod-init-config, trace point syscall/connect/enter) and sends one message per connect().
// Wire: handshake = protobuf {1: version}, we answer 08 01; then each message = u16 header size,
// u16 message type, u32 dropped (little-endian) + protobuf. Connect events are type 10 with
// field 6 = the raw sockaddr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::backends::gvisor {

struct ConnectAttempt {
  std::string host;  // dotted IPv4 or IPv6 text (the trace sink); the requested name (the proxy)
  uint32_t port = 0;
  std::string ip;        // the address checked (proxy), empty when none was resolved
  std::string reason;    // why refused (see egress_policy.h), empty: not on the allow-list
  bool allowed = false;  // the proxy opened this connection
};

// Decodes one trace message (header + protobuf). Returns the destination of an AF_INET/AF_INET6
// connect() that leaves the sandbox (loopback and unspecified addresses are not egress).
std::optional<ConnectAttempt> decode_connect_event(std::string_view message);

// Non-blocking listener + connections, driven by the owner's poll loop.
class TraceSink {
 public:
  TraceSink() = default;
  TraceSink(const TraceSink&) = delete;
  TraceSink& operator=(const TraceSink&) = delete;
  ~TraceSink();

  // Binds and listens at `path` (root-only permissions). "" or error.
  [[nodiscard]] std::string listen(const std::string& path);
  // fds to poll for POLLIN: the listener and every connection.
  std::vector<int> fds() const;
  // Handles readiness of `fd`; appends egress attempts seen.
  void on_readable(int fd, std::vector<ConnectAttempt>* attempts);
  uint64_t dropped() const { return dropped_; }
  void close_all();

 private:
  struct Conn {
    int fd = -1;
    bool handshaken = false;
  };
  int listen_fd_ = -1;
  std::string path_;
  std::vector<Conn> conns_;
  uint64_t dropped_ = 0;
};

}  // namespace enclave::backends::gvisor
