#include "backends/gvisor/egress_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "backends/gvisor/intercept.h"
#include "backends/gvisor/unix_listener.h"
#include "events/secrets.h"

namespace enclave::backends::gvisor {
namespace {

constexpr size_t kMaxHead = 16 << 10;
constexpr size_t kMaxPending = 256 << 10;  // per direction, then we stop reading that side
constexpr size_t kMaxConns = 64;
constexpr int kConnectTimeoutMs = 5000;

const char kForbidden[] =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: 38\r\n\r\nenclave: destination not in allow list";
const char kRefused[] =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: 45\r\n\r\nenclave: destination refused by egress policy";
const char kBadRequest[] =
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const char kBadGateway[] =
    "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const char kEstablished[] = "HTTP/1.1 200 Connection Established\r\n\r\n";
const char kBusy[] =
    "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A non-blocking connect to exactly `addr`, waited for up to kConnectTimeoutMs.
int connect_exactly(const sockaddr* addr, socklen_t len, int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (::connect(fd, addr, len) == 0) return fd;
  if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t elen = sizeof err;
    if (::poll(&p, 1, kConnectTimeoutMs) == 1 &&
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
      return fd;
  }
  ::close(fd);
  return -1;
}

std::optional<egress::IpAddress> address_of(const sockaddr* sa) {
  char text[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, text, sizeof text);
  } else {
    return std::nullopt;
  }
  return egress::parse_ip(text);
}

// IP literals compare by address, not spelling ("[::FFFF:7f00:1]" is "127.0.0.1").
std::string canonical_host(const std::string& host) {
  auto ip = egress::parse_ip(host);
  return ip ? egress::to_string(*ip) : host;
}

void send_all_blocking(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return;
      continue;
    }
    if (w <= 0) return;
    data += w;
    n -= static_cast<size_t>(w);
  }
}

}  // namespace

std::pair<std::string, uint32_t> split_host_port(const std::string& s, uint32_t default_port) {
  std::string host = s;
  uint32_t port = default_port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return {"", 0};
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return {"", 0};
      port = static_cast<uint32_t>(std::strtoul(s.c_str() + close + 2, nullptr, 10));
    }
  } else if (auto colon = s.rfind(':'); colon != std::string::npos) {
    if (s.find(':') != colon) return {lower(s), default_port};  // bare IPv6 without port
    host = s.substr(0, colon);
    port = static_cast<uint32_t>(std::strtoul(s.c_str() + colon + 1, nullptr, 10));
  }
  if (host.empty() || port == 0 || port > 65535) return {"", 0};
  return {lower(host), port};
}

struct EgressProxy::Conn {
  int client = -1;
  int upstream = -1;
  std::string head;       // request head while not yet tunnelling
  std::string to_up;      // pending bytes client -> upstream
  std::string to_client;  // pending bytes upstream -> client
  bool client_eof = false, upstream_eof = false;
};

std::string EgressProxy::start(const std::string& path, const std::vector<std::string>& allow,
                               egress::Policy policy, Report report) {
  for (const auto& a : allow) {
    auto hp = split_host_port(a, 0);
    if (!hp.first.empty()) allow_.insert({canonical_host(hp.first), hp.second});
  }
  policy_ = std::move(policy);
  report_ = std::move(report);
  std::string error;
  listen_fd_ = listen_unix(path, SOCK_STREAM, 16, 0666, "proxy", &error);
  if (listen_fd_ < 0) return error;
  path_ = path;
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { serve(); });
  return "";
}

void EgressProxy::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(stop_fd_, &one, sizeof one);  // stays readable: every worker sees it too
    thread_.join();
  }
  join_workers(true);
  if (secrets_.report_use) {
    std::vector<secrets::Use> held;
    {
      std::lock_guard lock(use_mu_);
      held = limiter_.flush();
    }
    for (auto& u : held) secrets_.report_use(std::move(u));
  }
  for (Conn* c : conns_) {
    if (c->client >= 0) ::close(c->client);
    if (c->upstream >= 0) ::close(c->upstream);
    delete c;
  }
  conns_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  listen_fd_ = stop_fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

bool EgressProxy::allowed(const std::string& host, uint32_t port) const {
  return allow_.count({host, port}) != 0;
}

int EgressProxy::open_upstream(const std::string& host, uint32_t port, bool* refused) {
  auto refuse = [&](std::string ip, std::string_view reason) {
    *refused = true;
    if (report_) report_(ConnectAttempt{host, port, std::move(ip), std::string(reason), false});
    return -1;
  };
  if (opened_ >= policy_.max_connections) return refuse("", egress::kConnectionLimit);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
  // One lookup; each address is judged, and only an address that passed is connected to.
  std::string refused_ip;
  int fd = -1;
  std::string connected_ip;
  for (addrinfo* ai = res; ai && fd < 0; ai = ai->ai_next) {
    auto ip = address_of(ai->ai_addr);
    if (!ip) continue;
    if (!egress::decide(policy_, *ip).allowed) {
      if (refused_ip.empty()) refused_ip = egress::to_string(*ip);
      continue;
    }
    if (opened_ >= policy_.max_connections) break;
    ++opened_;
    fd = connect_exactly(ai->ai_addr, ai->ai_addrlen, ai->ai_family);
    if (fd >= 0) connected_ip = egress::to_string(*ip);
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    if (report_) report_(ConnectAttempt{host, port, connected_ip, "", true});
    return fd;
  }
  if (!refused_ip.empty()) return refuse(refused_ip, egress::kInternalAddress);
  return -1;
}

void EgressProxy::accept_one() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  accepted_.fetch_add(1);
  if (conns_.size() >= kMaxConns) {
    ::close(fd);
    return;
  }
  auto* c = new Conn;
  c->client = fd;
  conns_.push_back(c);
}

// Parses the request head once complete; connects upstream if allowed.
bool EgressProxy::handle_head(Conn& c) {
  const auto end = c.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.head.size() > kMaxHead) {
      send_all_blocking(c.client, kBadRequest, sizeof kBadRequest - 1);
      return false;
    }
    return true;  // need more
  }
  const auto line_end = c.head.find("\r\n");
  const std::string line = c.head.substr(0, line_end);
  const auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) {
    send_all_blocking(c.client, kBadRequest, sizeof kBadRequest - 1);
    return false;
  }
  const std::string method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const bool tunnel = method == "CONNECT";
  std::pair<std::string, uint32_t> hp;
  if (tunnel) {
    hp = split_host_port(target, 0);
  } else if (lower(target.substr(0, 7)) == "http://") {
    const auto slash = target.find('/', 7);
    hp = split_host_port(
        target.substr(7, slash == std::string::npos ? std::string::npos : slash - 7), 80);
  }
  if (hp.first.empty()) {
    send_all_blocking(c.client, kBadRequest, sizeof kBadRequest - 1);
    return false;
  }
  hp.first = canonical_host(hp.first);
  if (!allowed(hp.first, hp.second)) {
    // Reported before the workload hears the answer, like every verdict.
    if (report_)
      report_(ConnectAttempt{hp.first, hp.second, "", std::string(egress::kNotAllowed), false});
    send_all_blocking(c.client, kForbidden, sizeof kForbidden - 1);
    return false;
  }
  bool refused = false;
  c.upstream = open_upstream(hp.first, hp.second, &refused);
  if (c.upstream < 0) {
    if (refused)
      send_all_blocking(c.client, kRefused, sizeof kRefused - 1);
    else
      send_all_blocking(c.client, kBadGateway, sizeof kBadGateway - 1);
    return false;
  }
  if (intercept(c, hp.first, hp.second, tunnel, end + 4)) return false;
  if (c.upstream < 0) return false;  // refused by intercept (answered, reported)
  if (tunnel) {
    c.to_client = kEstablished;
    c.to_up = c.head.substr(end + 4);  // bytes the client sent after the head
  } else {
    c.to_up = c.head;  // absolute-form request line: origin servers must accept it
  }
  c.head.clear();
  return true;
}

void EgressProxy::report_use(secrets::Use u) {
  std::optional<secrets::Use> out;
  {
    std::lock_guard lock(use_mu_);
    out = limiter_.use(std::move(u), secrets_.now_ms ? secrets_.now_ms() : 0);
  }
  if (out && secrets_.report_use) secrets_.report_use(std::move(*out));
}

void EgressProxy::join_workers(bool all) {
  std::vector<Worker> keep;
  for (auto& w : workers_) {
    if (all || w.done->load()) {
      if (w.thread.joinable()) w.thread.join();
    } else {
      keep.push_back(std::move(w));
    }
  }
  workers_.swap(keep);
}

bool EgressProxy::intercept(Conn& c, const std::string& host, uint32_t port, bool tunnel,
                            size_t head_end) {
  const std::string self =
      secrets::canonical_host_port((host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                   ":" + std::to_string(port))
          .value_or("");
  std::vector<SecretBinding> mine;
  for (const auto& b : secrets_.bindings)
    if (std::find(b.hosts.begin(), b.hosts.end(), self) != b.hosts.end()) mine.push_back(b);
  if (mine.empty() || self.empty()) return false;
  auto refuse = [&](const char* reason, const char* answer) {
    if (report_) report_(ConnectAttempt{host, port, "", reason, false});
    send_all_blocking(c.client, answer, std::strlen(answer));
    ::close(c.upstream);
    c.upstream = -1;
    return false;
  };
  join_workers(false);
  std::shared_ptr<SSL_CTX> leaf =
      tunnel && secrets_.ca ? secrets_.ca->server_context(host) : nullptr;
  if (tunnel && (!leaf || !secrets_.upstream_tls)) return refuse("tls_unavailable", kBadGateway);
  if (workers_.size() >= kMaxIntercepts) return refuse("intercept_limit", kBusy);
  InterceptSetup setup;
  setup.host = host;
  setup.port = port;
  setup.tls = tunnel;
  setup.bindings = std::move(mine);
  setup.resolve = secrets_.resolve;
  setup.client_ctx = std::move(leaf);
  setup.upstream_ctx = secrets_.upstream_tls;
  setup.used = [this](secrets::Use u) { report_use(std::move(u)); };
  setup.refused = [this, host, port](const std::string& reason) {
    if (report_) report_(ConnectAttempt{host, port, "", reason, false});
  };
  setup.stop_fd = stop_fd_;
  std::string pending = tunnel ? c.head.substr(head_end) : c.head;
  auto done = std::make_shared<std::atomic<bool>>(false);
  const int client = c.client, upstream = c.upstream;
  c.client = c.upstream = -1;  // the worker owns (and closes) them now
  c.head.clear();
  workers_.push_back(Worker{std::thread([client, upstream, pending = std::move(pending),
                                         setup = std::move(setup), done]() mutable {
                              serve_intercepted(client, upstream, std::move(pending), setup);
                              done->store(true);
                            }),
                            done});
  return true;
}

void EgressProxy::serve() {
  char buf[65536];
  for (;;) {
    std::vector<pollfd> pfds{{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (Conn* c : conns_) {
      short cev = 0, uev = 0;
      if (!c->client_eof && c->to_up.size() < kMaxPending) cev |= POLLIN;
      if (!c->to_client.empty()) cev |= POLLOUT;
      if (c->upstream >= 0) {
        if (!c->upstream_eof && c->to_client.size() < kMaxPending) uev |= POLLIN;
        if (!c->to_up.empty()) uev |= POLLOUT;
      }
      pfds.push_back({c->client, cev, 0});
      pfds.push_back({c->upstream, uev, 0});  // fd -1 is ignored by poll
    }
    if (::poll(pfds.data(), pfds.size(), -1) < 0 && errno != EINTR) return;
    if (pfds[0].revents) return;
    if (pfds[1].revents) accept_one();
    std::vector<Conn*> keep;
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn* c = conns_[i];
      const short cr = i * 2 + 2 < pfds.size() ? pfds[i * 2 + 2].revents : 0;
      const short ur = i * 2 + 3 < pfds.size() ? pfds[i * 2 + 3].revents : 0;
      bool alive = true;
      if (cr & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(c->client, buf, sizeof buf, 0);
        if (n > 0) {
          if (c->upstream < 0) {
            c->head.append(buf, static_cast<size_t>(n));
            alive = handle_head(*c);
          } else {
            c->to_up.append(buf, static_cast<size_t>(n));
          }
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          c->client_eof = true;
          if (c->upstream < 0) alive = false;
        }
      }
      if (alive && c->upstream >= 0 && (ur & (POLLIN | POLLHUP | POLLERR))) {
        ssize_t n = ::recv(c->upstream, buf, sizeof buf, 0);
        if (n > 0) {
          c->to_client.append(buf, static_cast<size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          c->upstream_eof = true;
        }
      }
      if (alive && !c->to_up.empty() && c->upstream >= 0) {
        ssize_t n = ::send(c->upstream, c->to_up.data(), c->to_up.size(), MSG_NOSIGNAL);
        if (n > 0) c->to_up.erase(0, static_cast<size_t>(n));
        if (n < 0 && errno != EAGAIN && errno != EINTR) alive = false;
      }
      if (alive && !c->to_client.empty()) {
        ssize_t n = ::send(c->client, c->to_client.data(), c->to_client.size(), MSG_NOSIGNAL);
        if (n > 0) c->to_client.erase(0, static_cast<size_t>(n));
        if (n < 0 && errno != EAGAIN && errno != EINTR) alive = false;
      }
      // Half-close propagation: once one side ended and its bytes are delivered, end the other.
      if (alive && c->upstream_eof && c->to_client.empty()) alive = false;
      if (alive && c->client_eof && c->to_up.empty() && c->upstream >= 0)
        ::shutdown(c->upstream, SHUT_WR);
      if (alive) {
        keep.push_back(c);
      } else {
        ::close(c->client);
        if (c->upstream >= 0) ::close(c->upstream);
        delete c;
      }
    }
    conns_.swap(keep);
  }
}

}  // namespace enclave::backends::gvisor
