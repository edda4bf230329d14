#include "backends/gvisor/trace_sink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "backends/gvisor/unix_listener.h"

namespace enclave::backends::gvisor {
namespace {

constexpr uint16_t kConnectMessageType = 10;
constexpr uint32_t kAddressField = 6;

bool read_varint(std::string_view s, size_t* pos, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *pos < s.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(s[(*pos)++]);
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

// Top-level length-delimited field `field` of a protobuf message, if present.
std::optional<std::string_view> find_bytes_field(std::string_view msg, uint32_t field) {
  size_t pos = 0;
  while (pos < msg.size()) {
    uint64_t key;
    if (!read_varint(msg, &pos, &key)) return std::nullopt;
    const auto wire = key & 7;
    const auto num = key >> 3;
    uint64_t v;
    switch (wire) {
      case 0:
        if (!read_varint(msg, &pos, &v)) return std::nullopt;
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2:
        if (!read_varint(msg, &pos, &v) || v > msg.size() - pos) return std::nullopt;
        if (num == field) return msg.substr(pos, v);
        pos += v;
        break;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

uint16_t le16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}

}  // namespace

std::optional<ConnectAttempt> decode_connect_event(std::string_view m) {
  if (m.size() < 8) return std::nullopt;
  const uint16_t header_size = le16(m, 0);
  if (le16(m, 2) != kConnectMessageType || header_size < 8 || header_size > m.size())
    return std::nullopt;
  auto addr = find_bytes_field(m.substr(header_size), kAddressField);
  if (!addr || addr->size() < 4) return std::nullopt;
  const uint16_t family = le16(*addr, 0);  // sa_family is host order (x86: little-endian)
  const uint32_t port = (static_cast<uint8_t>((*addr)[2]) << 8) | static_cast<uint8_t>((*addr)[3]);
  char text[INET6_ADDRSTRLEN] = {};
  if (family == AF_INET && addr->size() >= 8) {
    in_addr a;
    std::memcpy(&a, addr->data() + 4, 4);
    const uint32_t h = ntohl(a.s_addr);
    if ((h >> 24) == 127 || h == 0) return std::nullopt;
    inet_ntop(AF_INET, &a, text, sizeof text);
  } else if (family == AF_INET6 && addr->size() >= 24) {
    in6_addr a;
    std::memcpy(&a, addr->data() + 8, 16);
    if (IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a)) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      in_addr v4;
      std::memcpy(&v4, &a.s6_addr[12], 4);
      const uint32_t h = ntohl(v4.s_addr);
      if ((h >> 24) == 127 || h == 0) return std::nullopt;
    }
    inet_ntop(AF_INET6, &a, text, sizeof text);
  } else {
    return std::nullopt;  // AF_UNIX and others stay inside the sandbox
  }
  // A raw sockaddr: the address is both what was asked for and what was tried.
  return ConnectAttempt{text, port, text, "", false};
}

TraceSink::~TraceSink() { close_all(); }

std::string TraceSink::listen(const std::string& path) {
  std::string error;
  listen_fd_ = listen_unix(path, SOCK_SEQPACKET, 8, 0600, "trace", &error);
  if (listen_fd_ < 0) return error;
  path_ = path;
  return "";
}

std::vector<int> TraceSink::fds() const {
  std::vector<int> fds;
  if (listen_fd_ >= 0) fds.push_back(listen_fd_);
  for (const auto& c : conns_) fds.push_back(c.fd);
  return fds;
}

void TraceSink::on_readable(int fd, std::vector<ConnectAttempt>* attempts) {
  if (fd == listen_fd_) {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) conns_.push_back(Conn{c, false});
    return;
  }
  for (size_t i = 0; i < conns_.size(); ++i) {
    Conn& c = conns_[i];
    if (c.fd != fd) continue;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      if (n <= 0) {
        ::close(c.fd);
        conns_.erase(conns_.begin() + static_cast<long>(i));
        return;
      }
      if (!c.handshaken) {
        static const char kReply[] = {0x08, 0x01};  // Handshake{version: 1}
        (void)::send(c.fd, kReply, sizeof kReply, MSG_NOSIGNAL);
        c.handshaken = true;
        continue;
      }
      std::string_view m(buf, static_cast<size_t>(n));
      if (m.size() >= 8) {
        dropped_ +=
            static_cast<uint32_t>(static_cast<uint8_t>(m[4]) | (static_cast<uint8_t>(m[5]) << 8) |
                                  (static_cast<uint8_t>(m[6]) << 16) |
                                  (static_cast<uint32_t>(static_cast<uint8_t>(m[7])) << 24));
      }
      if (auto a = decode_connect_event(m)) attempts->push_back(std::move(*a));
    }
  }
}

void TraceSink::close_all() {
  for (auto& c : conns_) ::close(c.fd);
  conns_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
}

}  // namespace enclave::backends::gvisor
