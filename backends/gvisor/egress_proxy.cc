#include "backends/gvisor/egress_proxy.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enclave::backends::gvisor {
namespace {

constexpr size_t kMaxHead = 16 << 10;
constexpr size_t kMaxPending = 256 << 10;  // per direction, then we stop reading that side
constexpr size_t kMaxConns = 64;
constexpr int kConnectTimeoutMs = 5000;

const char kForbidden[] =
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    "Content-Length: 38\r\n\r\nenclave: destination not in allow list";
const char kBadRequest[] =
    "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const char kBadGateway[] =
    "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
const char kEstablished[] = "HTTP/1.1 200 Connection Established\r\n\r\n";

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int connect_to(const std::string& host, uint32_t port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (::poll(&p, 1, kConnectTimeoutMs) == 1 &&
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
        break;
    }
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
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
                               Denied on_denied) {
  for (const auto& a : allow) {
    auto hp = split_host_port(a, 0);
    if (!hp.first.empty()) allow_.insert(hp);
  }
  on_denied_ = std::move(on_denied);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return "proxy socket path too long: " + path;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  ::unlink(path.c_str());
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) return std::string("proxy socket: ") + std::strerror(errno);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0)
    return "proxy bind/listen " + path + ": " + std::strerror(errno);
  ::chmod(path.c_str(), 0666);
  path_ = path;
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { serve(); });
  return "";
}

void EgressProxy::stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)::write(stop_fd_, &one, sizeof one);
    thread_.join();
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

void EgressProxy::accept_one() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
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
  if (!allowed(hp.first, hp.second)) {
    send_all_blocking(c.client, kForbidden, sizeof kForbidden - 1);
    if (on_denied_) on_denied_(ConnectAttempt{hp.first, hp.second});
    return false;
  }
  c.upstream = connect_to(hp.first, hp.second);
  if (c.upstream < 0) {
    send_all_blocking(c.client, kBadGateway, sizeof kBadGateway - 1);
    return false;
  }
  if (tunnel) {
    c.to_client = kEstablished;
    c.to_up = c.head.substr(end + 4);  // bytes the client sent after the head
  } else {
    c.to_up = c.head;  // absolute-form request line: origin servers must accept it
  }
  c.head.clear();
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
