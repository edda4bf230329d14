// allow_list egress: an HTTP proxy on a unix socket that is bind-mounted into the sandbox (runsc
// --host-uds=open); the runner forwards 127.0.0.1:3128 inside the sandbox to it and sets
// HTTP(S)_PROXY. Only CONNECT host:port and absolute-URI requests whose host:port is on the
// session's list are forwarded. A listed name is resolved here, once per connection, and every
// address is checked against the server's egress policy (egress_policy.h): the connection goes to
// exactly an address that passed, so DNS rebinding gains nothing. Every connection opened and
// every refusal is reported; at most Policy::max_connections are opened per proxy (session). The
// sandbox itself still has no network (--network=none), so the proxy is the only way out.
//
// Secrets (intercept.h): a connection to a host:port one of the session's secrets is for is
// handed to its own thread, which injects the secret into each request (TLS ended with a leaf of
// the server's egress CA, re-opened upstream and verified). At most kMaxIntercepts such
// connections at once; every other connection is relayed byte for byte, untouched.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "backends/gvisor/egress_ca.h"
#include "backends/gvisor/trace_sink.h"
#include "events/policy/egress_policy.h"
#include "events/policy/secret_use_limiter.h"

namespace enclave::backends::gvisor {

// "host:port" / "[v6]:port" -> (lower-case host, port); nullopt-like empty host if malformed.
std::pair<std::string, uint32_t> split_host_port(const std::string& s, uint32_t default_port);

class EgressProxy {
 public:
  // Called on the proxy's threads for every connection opened (allowed) or refused.
  using Report = std::function<void(ConnectAttempt)>;

  // What secrets injection needs. `report_use` gets the uses already rate-limited (one per
  // secret, host and second, with a count; the rest at stop()), from the proxy's threads.
  struct Secrets {
    std::vector<SecretBinding> bindings;
    SecretResolver resolve;
    std::shared_ptr<EgressCa> ca;           // for HTTPS; without it HTTPS to them is refused
    std::shared_ptr<SSL_CTX> upstream_tls;  // verifies upstreams
    std::function<void(secrets::Use)> report_use;
    std::function<int64_t()> now_ms;  // the rate limit's clock (steady)
  };
  static constexpr size_t kMaxIntercepts = 16;

  EgressProxy() = default;
  EgressProxy(const EgressProxy&) = delete;
  EgressProxy& operator=(const EgressProxy&) = delete;
  ~EgressProxy() { stop(); }

  // Listens at `path` (connectable by the sandbox user) and serves on its own thread.
  [[nodiscard]] std::string start(const std::string& path, const std::vector<std::string>& allow,
                                  egress::Policy policy, Report report);
  // Before start(): inject these secrets (none by default).
  void inject(Secrets secrets) { secrets_ = std::move(secrets); }
  // Closes every connection and joins the thread.
  void stop();
  // Whether the sandbox ever connected to it. gVisor (20221219) cannot checkpoint a sandbox whose
  // process ever had a host unix socket connected (the save panics and the sandbox is lost),
  // so such a sandbox is not checkpointed (docs/PAUSE.md).
  bool ever_connected() const { return accepted_.load() > 0; }

 private:
  struct Conn;
  void serve();
  void accept_one();
  bool handle_head(Conn& c);  // false: connection is finished
  bool allowed(const std::string& host, uint32_t port) const;
  // Resolves, applies the policy, connects to the first address that passes; reports either way.
  // -1 on failure, with *refused set when the policy (not the network) said no.
  int open_upstream(const std::string& host, uint32_t port, bool* refused);

  // Hands an allowed connection to a secret's host to its own thread; false: refused (answered).
  bool intercept(Conn& c, const std::string& host, uint32_t port, bool tunnel, size_t head_end);
  void report_use(secrets::Use u);
  void join_workers(bool all);

  std::set<std::pair<std::string, uint32_t>> allow_;
  Secrets secrets_;
  std::mutex use_mu_;
  secrets::UseLimiter limiter_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;  // touched by the serve thread, then stop()
  egress::Policy policy_;
  uint32_t opened_ = 0;  // connections that passed the policy (bounded by max_connections)
  std::atomic<uint64_t> accepted_{0};  // connections from the sandbox, ever
  Report report_;
  std::string path_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::vector<Conn*> conns_;
};

}  // namespace enclave::backends::gvisor
