#include "cli/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace enclave::cli {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects with a timeout; returns the socket or -1 with `error`.
int connect_to(const Url& url, int timeout_ms, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(url.port);
  int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    *error = "cannot resolve " + url.host + ": " + gai_strerror(rc);
    return -1;
  }
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms);
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = rc == 0 ? ETIMEDOUT : errno;
        rc = -1;
      }
    }
    if (rc == 0) {
      fcntl(fd, F_SETFL, flags);
      timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      freeaddrinfo(res);
      return fd;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  *error = "cannot connect to " + url.host + ":" + port + ": " + last +
           " (is enclaved running? set ENCLAVE_BASE_URL)";
  return -1;
}

bool send_all(int fd, const std::string& data, std::string* error) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("send failed: ") + std::strerror(errno);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads some bytes; 0 at EOF, -1 on error.
ssize_t recv_some(int fd, std::string* into) {
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) into->append(buf, static_cast<size_t>(n));
    return n;
  }
}

std::string build_request(const Url& url, const std::string& method, const std::string& path,
                          const std::string& body, const Headers& headers, bool has_body) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  std::string req = method + " " + url.base_path + path + " HTTP/1.1\r\nHost: " + host + ":" +
                    std::to_string(url.port) +
                    "\r\nUser-Agent: enclave-cli\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (has_body) {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  return req;
}

struct Head {
  int status = 0;
  bool chunked = false;
  long long content_length = -1;
  std::string content_type;
};

// Parses the head in `buf` once it is complete; returns the offset of the body or 0.
size_t parse_head(const std::string& buf, Head* h) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  size_t line_end = buf.find("\r\n");
  std::string status_line = buf.substr(0, line_end);
  size_t sp = status_line.find(' ');
  h->status = sp == std::string::npos ? -1 : std::atoi(status_line.c_str() + sp + 1);
  size_t pos = line_end + 2;
  while (pos < end) {
    size_t e = buf.find("\r\n", pos);
    std::string line = buf.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos)
      h->chunked = true;
    if (name == "content-length") h->content_length = std::atoll(value.c_str());
    if (name == "content-type") h->content_type = value;
  }
  return end + 4;
}

// Incremental chunked-transfer decoder.
class Dechunker {
 public:
  // Consumes `in`, appends decoded bytes to `out`; returns true when the last chunk was seen.
  bool feed(std::string& in, std::string* out) {
    while (true) {
      if (remaining_ == 0) {
        size_t e = in.find("\r\n");
        if (e == std::string::npos) return false;
        std::string line = in.substr(0, e);
        in.erase(0, e + 2);
        if (line.empty()) continue;  // CRLF after a chunk's data
        remaining_ = std::strtoull(line.c_str(), nullptr, 16);
        if (remaining_ == 0) return true;
      }
      size_t take = std::min<size_t>(remaining_, in.size());
      out->append(in, 0, take);
      in.erase(0, take);
      remaining_ -= take;
      if (in.empty()) return false;
    }
  }

 private:
  unsigned long long remaining_ = 0;
};

}  // namespace

std::optional<Url> parse_url(const std::string& text, std::string* error) {
  const std::string scheme = "http://";
  if (text.rfind(scheme, 0) != 0) {
    *error = "base URL must start with http:// (got '" + text + "')";
    return std::nullopt;
  }
  std::string rest = text.substr(scheme.size());
  Url u;
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) u.base_path = rest.substr(slash);
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  std::string port;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos) {
      *error = "malformed IPv6 host in '" + text + "'";
      return std::nullopt;
    }
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      port = hostport.substr(close + 2);
  } else {
    size_t colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    *error = "no host in '" + text + "'";
    return std::nullopt;
  }
  if (!port.empty()) {
    char* end = nullptr;
    long p = std::strtol(port.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
      *error = "bad port in '" + text + "'";
      return std::nullopt;
    }
    u.port = static_cast<uint16_t>(p);
  }
  return u;
}

HttpResponse http_request(const Url& url, const std::string& method, const std::string& path,
                          const std::string& body, const Headers& headers, int timeout_ms) {
  HttpResponse r;
  Fd fd{connect_to(url, timeout_ms, &r.error)};
  if (fd.fd < 0) return r;
  bool has_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
  if (!send_all(fd.fd, build_request(url, method, path, body, headers, has_body), &r.error))
    return r;
  std::string buf;
  Head head;
  size_t body_at = 0;
  std::string decoded;
  Dechunker dechunker;
  while (true) {
    ssize_t n = recv_some(fd.fd, &buf);
    if (n < 0) {
      r.error = std::string("reading the answer failed: ") + std::strerror(errno);
      return r;
    }
    if (body_at == 0) {
      body_at = parse_head(buf, &head);
      if (body_at > 0) buf.erase(0, body_at);
    }
    if (body_at > 0) {
      if (head.chunked) {
        if (dechunker.feed(buf, &decoded)) break;
      } else if (head.content_length >= 0 &&
                 buf.size() >= static_cast<size_t>(head.content_length)) {
        buf.resize(static_cast<size_t>(head.content_length));
        break;
      }
    }
    if (n == 0) break;
  }
  if (body_at == 0) {
    r.error = "the server closed the connection without an answer";
    return r;
  }
  r.status = head.status;
  r.content_type = head.content_type;
  r.body = head.chunked ? std::move(decoded) : std::move(buf);
  return r;
}

HttpResponse http_stream(const Url& url, const std::string& path, const Headers& headers,
                         const std::function<bool(const std::string& chunk)>& on_data,
                         int timeout_ms) {
  HttpResponse r;
  Fd fd{connect_to(url, timeout_ms, &r.error)};
  if (fd.fd < 0) return r;
  Headers h = headers;
  h.emplace_back("Accept", "text/event-stream");
  if (!send_all(fd.fd, build_request(url, "GET", path, "", h, false), &r.error)) return r;
  std::string buf;
  Head head;
  size_t body_at = 0;
  Dechunker dechunker;
  while (true) {
    ssize_t n = recv_some(fd.fd, &buf);
    if (n < 0) {
      r.error = std::string("reading the stream failed: ") + std::strerror(errno);
      return r;
    }
    if (body_at == 0) {
      body_at = parse_head(buf, &head);
      if (body_at > 0) {
        buf.erase(0, body_at);
        r.status = head.status;
        r.content_type = head.content_type;
        if (head.status >= 300) {
          // An error answer: collect it whole.
          while (recv_some(fd.fd, &buf) > 0) {
          }
          std::string decoded;
          if (head.chunked) dechunker.feed(buf, &decoded);
          r.body = head.chunked ? decoded : buf;
          return r;
        }
      }
    }
    if (body_at > 0 && !buf.empty()) {
      std::string chunk;
      bool last = false;
      if (head.chunked) {
        last = dechunker.feed(buf, &chunk);
      } else {
        chunk.swap(buf);
      }
      if (!chunk.empty() && !on_data(chunk)) return r;
      if (last) return r;
    }
    if (n == 0) return r;
  }
}

}  // namespace enclave::cli
