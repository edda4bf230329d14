// allow_list egress: an HTTP proxy on a unix socket that is bind-mounted into the sandbox (runsc
// --host-uds=open); the runner forwards 127.0.0.1:3128 inside the sandbox to it and sets
// HTTP(S)_PROXY. Only CONNECT host:port and absolute-URI requests whose host:port is on the
// session's list are forwarded. A listed name is resolved here, once per connection, and every
// address is checked against the server's egress policy (egress_policy.h): the connection goes to
// exactly an address that passed, so DNS rebinding gains nothing. Every connection opened and
// every refusal is reported; at most Policy::max_connections are opened per proxy (session). The
// sandbox itself still has no network (--network=none), so the proxy is the only way out.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backends/gvisor/trace_sink.h"
#include "events/egress_policy.h"

namespace enclave::backends::gvisor {

// "host:port" / "[v6]:port" -> (lower-case host, port); nullopt-like empty host if malformed.
std::pair<std::string, uint32_t> split_host_port(const std::string& s, uint32_t default_port);

class EgressProxy {
 public:
  // Called on the proxy's thread for every connection opened (allowed) or refused.
  using Report = std::function<void(ConnectAttempt)>;

  EgressProxy() = default;
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;
  ~EgressProxy() { stop(); }

  // Listens at `path` (connectable by the sandbox user) and serves on its own thread.
  [[nodiscard]] std::string start(const std::string& path, const std::vector<std::string>& allow,
                                  egress::Policy policy, Report report);
  // Closes every connection and joins the thread.
  void stop();

 private:
  struct Conn;
  void serve();
  void accept_one();
  bool handle_head(Conn& c);  // false: connection is finished
  bool allowed(const std::string& host, uint32_t port) const;
  // Resolves, applies the policy, connects to the first address that passes; reports either way.
  // -1 on failure, with *refused set when the policy (not the network) said no.
  int open_upstream(const std::string& host, uint32_t port, bool* refused);

  std::set<std::pair<std::string, uint32_t>> allow_;
  egress::Policy policy_;
  uint32_t opened_ = 0;  // connections that passed the policy (bounded by max_connections)
  Report report_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::vector<Conn*> conns_;
};

}  // namespace enclave::backends::gvisor
